/**
 * `npm start` end to end: start the whole local system exactly as a person
 * would (on free ports), run every curl it prints, exactly as printed,
 * through a shell, and check each gets the outcome printed above it; the
 * sidecar's answers must name the committed bundle (models/CURRENT). Then
 * Ctrl-C (SIGINT to the process group) must stop it cleanly.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { READY_LINE } from '../../scripts/try-it.js';
import { REPO_ROOT } from '../helpers/fixtures.js';
import { runPrintedCurl } from './npm-start-curl.js';

const run = promisify(execFile);
const START_TIMEOUT_MS = 240_000;
/** Node ids of the simulated world (wh-03, st-19, sl-12). */
const WORLD_NODE_RE = /^(wh|st|sl)-\d+$/;

interface Step {
  expect: string;
  cmd: string;
}

interface Reply {
  status: number;
  headers: Map<string, string>;
  body: Record<string, unknown>;
}

/** Parses `curl -i` output: status line, headers, then the JSON body. */
function parseReply(out: string): Reply {
  const split = out.indexOf('\r\n\r\n') >= 0 ? '\r\n' : '\n';
  const end = out.indexOf(`${split}${split}`);
  const head = out.slice(0, end).split(split);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head[0] ?? '')?.[1]);
  const headers = new Map<string, string>();
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const text = out.slice(end + 2 * split.length);
  return { status, headers, body: text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const clause = (expect: string, re: RegExp) => re.exec(expect)?.[1];

/** `console whoami <name> <role>` or `console decision <id> <allow|deny>`: the console API's answer. */
function checkConsoleReply(t: Test, expect: string, body: Record<string, unknown>): void {
  const who = /console whoami (\S+) (\S+)/.exec(expect);
  if (who !== null) {
    t.equal(body.name, who[1], `signed in as ${who[1]}`);
    t.equal(body.role, who[2], `with the ${who[2]} role`);
    return;
  }
  const d = /console decision (\S+) (allow|deny)/.exec(expect);
  t.ok(d, 'a console expectation the test knows');
  const record = body.record as { decision_id: string; decision: string; items: { candidates: unknown[] }[] };
  t.equal(record.decision_id, d?.[1], 'the record of that decision');
  t.equal(record.decision, d?.[2], `decided ${d?.[2]}`);
  t.ok((record.items[0]?.candidates.length ?? 0) > 0, 'with its candidates, scores and thresholds');
}

t.test('npm start brings up the system and every curl it prints behaves as printed', async (t) => {
  const committed = readFileSync(join(REPO_ROOT, 'models', 'CURRENT'), 'utf8').trim();
  const haveCurl = await run('sh', ['-c', 'command -v curl']).then(
    () => true,
    () => false,
  );
  t.comment(
    haveCurl ? 'running the printed commands with curl' : 'no curl here: replaying each command faithfully',
  );

  // Step 1: start it on free ports (0) so the test never collides with a developer's mesh.
  const child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ATP_PORT: '0',
      ATP_UPSTREAM_PORT: '0',
      ATP_SIDECAR_HTTP_PORT: '0',
      ATP_SIDECAR_GRPC_PORT: '0',
      ATP_CONTROL_PORT: '0',
      ATP_CONTROL_GRPC_PORT: '0',
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  });

  // Step 2: wait until it prints its instructions.
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!out.includes(READY_LINE) && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!t.match(out, READY_LINE, 'the system printed what to try')) {
    t.comment(out);
    return;
  }
  for (const line of out.split('\n').filter((l) => /\[mesh\] (warm-up|sidecar model)/.test(l))) {
    t.comment(line);
  }
  t.match(
    out,
    /\[mesh\] simulator warm-up: \d+ events/,
    'the warm-up went through the event log and ingester',
  );
  t.match(out, /\[mesh\] batch features job: \d+ nodes/, 'batch node features came from the batch job');
  t.match(
    out,
    new RegExp(`model\\s+${committed} \\(models/CURRENT`),
    'the banner names the committed bundle',
  );

  // Step 3: every "expect:" line is followed by the command to run.
  const lines = out.split('\n');
  const steps: Step[] = [];
  lines.forEach((line, i) => {
    const m = /^\s*expect: (.*)$/.exec(line);
    if (m !== null) steps.push({ expect: m[1] as string, cmd: (lines[i + 1] ?? '').trim() });
  });
  t.ok(
    steps.some((s) => s.expect.startsWith('HTTP 201')),
    'an in-stock checkout through the filter is printed',
  );
  t.ok(
    steps.some((s) => s.expect.startsWith('HTTP 409')),
    'a denied checkout through the filter is printed',
  );
  t.ok(
    steps.some((s) => s.cmd.includes('/v1/check-batch')),
    'a browse batch via the sidecar is printed',
  );
  t.ok(
    steps.some((s) => / reasons UNKNOWN_SKU/.test(s.expect)),
    'an unknown SKU with its reason is printed',
  );
  t.match(out, /Operator console: http:\/\/127\.0\.0\.1:\d+\/console/, 'the console URL is printed');
  for (const role of ['admin', 'operator', 'viewer'])
    t.match(
      out,
      new RegExp(`^    ${role}\\s+atp-local-\\S+$`, 'm'),
      `a ${role} token to sign in with is printed`,
    );
  t.ok(
    steps.some((s) => s.cmd.includes('/console/api/decisions/')),
    'a decision explorer lookup is printed',
  );
  const skus = new Set(steps.flatMap((s) => [...s.cmd.matchAll(/"sku":"([^"]+)"/g)].map((m) => m[1])));
  t.ok(
    [...skus].filter((s) => s !== undefined && /^sku-\d{5}$/.test(s)).length >= 3,
    `the curls ask about SKUs named as the simulator names them (${[...skus].join(', ')})`,
  );

  for (const step of steps) {
    await t.test(`${step.expect}`, async (t) => {
      t.match(step.cmd, /^curl /, 'a curl command follows the expectation');
      const reply = parseReply(await runPrintedCurl(step.cmd, haveCurl));
      const status = Number(clause(step.expect, /^HTTP (\d{3})/));
      t.equal(reply.status, status, `answered HTTP ${status}`);
      const body = reply.body;
      if (/ console /.test(step.expect)) return checkConsoleReply(t, step.expect, body);
      const decision = clause(step.expect, /decision (allow|deny)/);
      const version = clause(step.expect, /model_version ([^\s,]+)/);
      if (status === 201) {
        t.equal(body.service, 'demo-checkout', 'the upstream answered');
        t.equal(body.atp_decision, decision, `the upstream saw x-atp-decision: ${decision}`);
        if (/node set/.test(step.expect)) t.match(String(body.atp_node), WORLD_NODE_RE, 'with a node');
      } else if (status === 409) {
        t.equal(decision, 'deny');
        t.equal(body.error, 'unavailable', 'the filter answered with its JSON body');
        t.type(body.decision_id, 'string', 'naming the sidecar decision');
        t.equal(reply.headers.get('x-atp-decision-id'), body.decision_id);
        t.equal(body.service, undefined, 'the upstream never saw it');
      } else {
        t.equal(version, committed, 'the printed model_version is the committed bundle');
        t.equal(body.model_version, committed, `the sidecar answered with model_version ${committed}`);
        const items = body.items as {
          sku: string;
          available: boolean;
          reasons: string[];
          options: { node_id: string }[];
        }[];
        if (decision !== undefined) t.equal(body.decision, decision, `decision ${decision}`);
        const reasons = clause(step.expect, /reasons ([A-Z_+]+)/);
        for (const r of reasons?.split('+') ?? []) t.ok(items[0]?.reasons.includes(r), `reason ${r}`);
        if (/node set/.test(step.expect))
          t.match(items[0]?.options[0]?.node_id, WORLD_NODE_RE, 'with a node');
        const perItem = clause(step.expect, /items (.+)$/);
        for (const pair of perItem?.split(' ') ?? []) {
          const [sku, outcome] = pair.split('=');
          const item = items.find((i) => i.sku === sku);
          if (outcome === 'available') t.equal(item?.available, true, `${sku} available`);
          else {
            t.equal(item?.available, false, `${sku} unavailable`);
            for (const r of outcome?.split('+') ?? []) t.ok(item?.reasons.includes(r), `${sku}: ${r}`);
          }
        }
      }
    });
  }

  // Step 4: Ctrl-C stops it cleanly.
  process.kill(-(child.pid as number), 'SIGINT');
  const code = await exited;
  t.comment(`npm exited with ${code} (npm itself dies of the SIGINT, as in a terminal)`);
  const stopDeadline = Date.now() + 20_000;
  while (!out.includes('stopped cleanly') && Date.now() < stopDeadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  t.match(out, /stopped cleanly/, 'the system reported a clean stop');
  const port = /data plane \(wasm filter in the emulator\)\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
  t.ok(port, 'the data plane port was printed');
  await t.rejects(
    fetch(`http://127.0.0.1:${port}/checkout`),
    'nothing listens on the data plane port any more',
  );
});
