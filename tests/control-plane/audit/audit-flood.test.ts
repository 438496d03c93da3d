/**
 * Finding 4 (issue 16): unauthenticated requests wrote one audit row each
 * (~1,000 rows/s from one client) and real changes slowed from ~5 ms to
 * 60-100 ms. Here a separate process floods the admin API with bad-token
 * requests (target 1,000/s) while an operator makes real changes, on a
 * control plane whose store is a SQLite file (every audit row a synchronous
 * commit, as in production). The changes' median latency is bounded against
 * the same changes under an equal flood of harmless requests of the same
 * size (the same POST, headers and body, to an unknown endpoint: 404): what
 * a bad token costs beyond any request must not reach the changes (on a
 * shared 2-core machine, plain HTTP load alone slows everything, which the
 * control flood measures). The flooding source is answered 429 once it
 * used up its failures, and the audit log grows by at most the per-minute
 * budget plus one aggregate row per source and minute, whose counts add up
 * to every refusal.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import {
  bootstrapTokens,
  startControlWorld,
  TOKENS,
  tempDir,
  waitFor,
  worldOf,
} from '../helpers/control-world.js';

const FLOOD_RATE_PER_S = 1_000;
const WARM_UP_MS = 1_500;
const PAUSE_BETWEEN_CHANGES_MS = 100;
/** The flood must really be served meanwhile: at least this many answers a second. */
const MIN_SERVED_PER_S = 100;
/** Refusals without a valid token audited one by one per source and minute (set explicitly below). */
const AUDIT_BUDGET_PER_MINUTE = 30;
/** The source's failed-authentication budget (set explicitly below): a burst, then a refill a second. */
const FAILURE_BURST = 100;
const FAILURE_REFILL_PER_S = 20;
/** Requests sent before the flood stopped may be admitted this much later by a loaded server. */
const SERVER_LAG_ALLOWANCE_S = 3;
const CHANGES = 12;
/** A real change under the bad flood may take at most this many times its median under the control flood... */
const SLOWDOWN_FACTOR = 2.5;
/** ...or this much more, whichever is larger (a loaded 2-core machine adds noise). */
const SLOWDOWN_ALLOWANCE_MS = 40;

/** A flooding client in its own process: `rate` bad-token POSTs a second (to a change, or to no endpoint) until killed; prints counts. */
const FLOOD_SCRIPT = `
import { Agent, request } from 'node:http';
const [url, rate, mode] = [new URL(process.argv[1]), Number(process.argv[2]), process.argv[3]];
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const counts = {};
let sent = 0, inFlight = 0;
const body = JSON.stringify({ scope: 'sku', target: 'X', reason: 'flood' });
function one() {
  inFlight++;
  const req = request({ host: url.hostname, port: url.port, agent,
    path: mode === 'bad' ? '/v1/kill-switches/set' : '/v1/no-such-endpoint', method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body),
      authorization: 'Bearer atp_not_a_real_token_' + (sent % 97) } }, (res) => {
    res.resume();
    res.on('end', () => { counts[res.statusCode] = (counts[res.statusCode] ?? 0) + 1; inFlight--; });
  });
  req.on('error', () => { counts.error = (counts.error ?? 0) + 1; inFlight--; });
  req.end(body);
}
process.stdout.write('ready\\n');
const start = performance.now();
const timer = setInterval(() => {
  const due = Math.floor(((performance.now() - start) / 1000) * rate);
  while (sent < due && inFlight < 256) { sent++; one(); }
}, 5);
process.on('SIGTERM', () => { clearInterval(timer); const s = (performance.now() - start) / 1000;
  const wait = setInterval(() => { if (inFlight === 0) { clearInterval(wait);
    process.stdout.write(JSON.stringify({ sent, seconds: s, counts })); process.exit(0); } }, 10); });
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

interface FloodReport {
  sent: number;
  seconds: number;
  counts: Record<string, number>;
}

/** Runs `measure` while a flooding process sends `mode` requests to `url`; returns its report. */
async function underFlood(
  t: Test,
  url: string,
  mode: 'bad' | 'unknown-endpoint',
  measure: () => Promise<void>,
): Promise<FloodReport> {
  const flood = spawn(
    process.execPath,
    ['--input-type=module', '-e', FLOOD_SCRIPT, url, String(FLOOD_RATE_PER_S), mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => flood.kill('SIGKILL'));
  let report = '';
  flood.stdout.on('data', (c: Buffer) => {
    report += c.toString();
  });
  // A loaded machine may take seconds to start node: warm up from the moment it floods.
  await waitFor(() => report.startsWith('ready\n'), 60_000, 'the flooding process');
  await new Promise((r) => setTimeout(r, WARM_UP_MS));
  await measure();
  flood.kill('SIGTERM');
  await new Promise((r) => flood.once('exit', r));
  return JSON.parse(report.slice('ready\n'.length)) as FloodReport;
}

t.test(
  'finding 4: a flood of 1,000 unauthenticated requests/s neither slows real changes nor floods the audit log',
  async (t) => {
    const dir = tempDir(t);
    const db = `sqlite:${join(dir, 'cp.db')}`;
    const w = await startControlWorld(t, {
      db,
      anonymousAuditPerMinute: AUDIT_BUDGET_PER_MINUTE,
      authFailureBurst: FAILURE_BURST,
      authFailureRefillPerS: FAILURE_REFILL_PER_S,
    });
    let flip = 0;
    const changes = async (into: number[]): Promise<void> => {
      for (let i = 0; i < CHANGES; i++) {
        const t0 = performance.now();
        const r = await w.post(
          `/v1/kill-switches/${flip++ % 2 === 0 ? 'set' : 'clear'}`,
          { scope: 'region', target: 'eu-west', reason: 'real change' },
          TOKENS.operator,
        );
        if (r.status !== 200) throw new Error(`real change refused: ${JSON.stringify(r.json)}`);
        into.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, PAUSE_BETWEEN_CHANGES_MS));
      }
    };
    const quiet: number[] = [];
    await changes(quiet);
    const control: number[] = [];
    const c = await underFlood(t, w.url, 'unknown-endpoint', () => changes(control));
    const loud: number[] = [];
    const f = await underFlood(t, w.url, 'bad', () => changes(loud));
    const rate = (r: FloodReport) => r.sent / r.seconds;
    t.comment(
      `bad flood: ${f.sent} requests in ${f.seconds.toFixed(1)} s (${rate(f).toFixed(0)}/s) ${JSON.stringify(f.counts)}; ` +
        `control flood: ${rate(c).toFixed(0)}/s; real change median: quiet ${median(quiet).toFixed(1)} ms, ` +
        `under the control flood ${median(control).toFixed(1)} ms, under the bad flood ${median(loud).toFixed(1)} ms`,
    );
    t.equal(c.counts['404'] ?? 0, c.sent, 'the control flood reached no change');
    t.ok(rate(f) >= MIN_SERVED_PER_S, `the bad flood was served at ${rate(f).toFixed(0)}/s meanwhile`);
    t.equal(f.counts.error ?? 0, 0, 'every flood request answered');
    const looked = f.counts['401'] ?? 0;
    t.ok(
      looked <= FAILURE_BURST + FAILURE_REFILL_PER_S * (f.seconds + SERVER_LAG_ALLOWANCE_S),
      `only the source's failure budget reached a token lookup (${looked}); the rest was answered 429 at once`,
    );
    t.equal(looked + (f.counts['429'] ?? 0), f.sent, 'every flood request refused');
    t.ok(
      median(loud) <= Math.max(SLOWDOWN_FACTOR * median(control), median(control) + SLOWDOWN_ALLOWANCE_MS),
      `real changes: ${median(loud).toFixed(1)} ms under the bad flood vs ${median(control).toFixed(1)} ms under the same requests to no endpoint`,
    );

    // A stop writes every pending audit row; the log is read back from the same file.
    await w.cp.stop();
    const after = worldOf(
      createFakeControlPlane({ db, bootstrapTokens: bootstrapTokens() }),
      generateSigningKeys(),
    );
    await after.cp.start();
    t.teardown(() => after.cp.stop());
    const rows = (await after.get('/v1/audit?actor=anonymous&limit=1000', TOKENS.viewer)).json.entries as {
      action: string;
      detail: { count?: number };
    }[];
    const aggregates = rows.filter((r) => r.action === 'audit.refusals');
    const single = rows.filter((r) => r.action !== 'audit.refusals');
    const minutes = Math.ceil(f.seconds / 60) + 1;
    t.ok(single.length <= AUDIT_BUDGET_PER_MINUTE * minutes, `${single.length} refusals audited one by one`);
    t.ok(aggregates.length >= 1 && aggregates.length <= minutes, `${aggregates.length} aggregate row(s)`);
    t.equal(
      single.length + aggregates.reduce((n, r) => n + (r.detail.count ?? 0), 0),
      f.sent,
      'every refusal is counted: one by one or in its aggregate row',
    );
  },
);

/** `n` POSTs of a change with a made-up token, `parallel` at a time; the statuses answered. */
async function badTokenPosts(url: string, n: number, parallel: number): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await fetch(`${url}/v1/kill-switches/set`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer atp_guess_${i}_0123456789` },
        body: JSON.stringify({ scope: 'sku', target: 'X', reason: 'guess' }),
      });
      await r.arrayBuffer();
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return statuses;
}

t.test(
  'finding 4, reproduced then fixed: one audit row per refused request without the budgets; at most budget + 1 with them',
  async (t) => {
    const REQUESTS = 400;
    // The behaviour before: no per-source budget, no failed-authentication limit.
    const before = await startControlWorld(t, {
      anonymousAuditPerMinute: 100_000,
      authFailureBurst: 1_000_000,
      authFailureRefillPerS: 1_000_000,
    });
    t.same(await badTokenPosts(before.url, REQUESTS, 16), { 401: REQUESTS });
    await before.cp.refusals.flush(true);
    const rowsBefore = (await before.get('/v1/audit?actor=anonymous&limit=1000', TOKENS.viewer)).json
      .entries as unknown[];
    t.equal(rowsBefore.length, REQUESTS, 'the finding: every refused request is one audit row');

    // The budgets: 30 refusals one by one per source and minute, then one counted row; 429 past 100
    // failures (refilled at 1/s here, so a slow machine cannot earn them back during the run).
    const after = await startControlWorld(t, {
      anonymousAuditPerMinute: AUDIT_BUDGET_PER_MINUTE,
      authFailureBurst: FAILURE_BURST,
      authFailureRefillPerS: 1,
    });
    // The operator reading the audit below shares the address: a token that authenticated recently still passes.
    t.equal((await after.get('/v1/status', TOKENS.viewer)).status, 200);
    const statuses = await badTokenPosts(after.url, REQUESTS, 16);
    t.equal((statuses['401'] ?? 0) + (statuses['429'] ?? 0), REQUESTS, JSON.stringify(statuses));
    t.ok((statuses['401'] ?? 0) <= FAILURE_BURST + 60, `401s within the failure budget: ${statuses['401']}`);
    t.ok((statuses['429'] ?? 0) > 0, 'the source is answered 429 once it used up its failures');
    await after.cp.refusals.flush(true);
    const rows = (await after.get('/v1/audit?actor=anonymous&limit=1000', TOKENS.viewer)).json.entries as {
      action: string;
      detail: { count?: number; by_code?: Record<string, number> };
    }[];
    const aggregate = rows.filter((r) => r.action === 'audit.refusals');
    t.ok(
      rows.length <= AUDIT_BUDGET_PER_MINUTE + 2,
      `${rows.length} rows for ${REQUESTS} refusals (a minute boundary may add one)`,
    );
    t.equal(
      rows.length - aggregate.length + aggregate.reduce((n, r) => n + (r.detail.count ?? 0), 0),
      REQUESTS,
      'yet every refusal is counted',
    );
    t.ok(
      aggregate.every((r) => r.detail.by_code !== undefined),
      'the aggregate row counts by code (401 unauthenticated, 429 rate limited)',
    );
  },
);
