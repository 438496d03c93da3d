/**
 * Drift in a running sidecar with the committed bundle: checkouts whose
 * served rows all look alike (one SKU, one zone: a collapsed distribution
 * against the training baselines) close a window that alarms; from then on
 * every answer says `degraded: drift` and each candidate's threshold carries
 * the drift margin; GET /v1/drift reports it, and `atpctl drift report`
 * reads it from the sidecar (text, JSON and the HTML page).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDriftReport } from '@mercato/proto/v1/drift-report';
import t from 'tap';
import { runAtpctl } from '../../../control-plane/src/cli/atpctl.js';
import { MemorySink } from '../../../sidecar/src/decision-log/decision-log-sinks.js';
import { resolveBundleDir } from '../../../sidecar/src/model/model-bundle.js';
import { checkout, worldSidecar } from '../../helpers/sidecar-world.js';

const WINDOW_ROWS = 200;

t.test('a drift alarm widens thresholds, flags answers, and shows in /v1/drift and atpctl', async (t) => {
  const log = new MemorySink();
  const sc = worldSidecar({
    drift: { windowRows: WINDOW_ROWS },
    decisionLogSink: log,
    httpPort: 0,
    grpcPort: 0,
    host: '127.0.0.1',
  });
  const { httpPort } = await sc.start();
  t.teardown(() => sc.stop());
  const model = await sc.models.loadAndActivate(await resolveBundleDir('models'));
  const first = await sc.engine.check(checkout('IN-STOCK', 1, 'r-0'));
  t.same(first.degradations, [], 'no drift before a window closed');
  let i = 1;
  while (sc.drift!.state(model.version).windows === 0 && i < 500)
    await sc.engine.check(checkout('IN-STOCK', 1, `r-${i++}`));
  const state = sc.drift!.state(model.version);
  t.ok(state.active, `the first window alarmed on: ${state.alarming.join(', ')}`);
  const after = await sc.engine.check(checkout('IN-STOCK', 1, 'r-after'));
  t.ok(after.degradations.includes('drift'), `answer flagged: ${after.degradations.join(',')}`);

  await sc.decisionLog!.flush();
  const records = log.records();
  const thresholds = (r: Record<string, unknown>) =>
    ((r.items as Record<string, unknown>[])[0]!.candidates as Record<string, unknown>[]).map(
      (c) => c.threshold as number,
    );
  // The two last answers: the one that closed the window (judged before it closed) and the one after.
  const [closing, widenedRec] = records.slice(-2) as [Record<string, unknown>, Record<string, unknown>];
  const margin = model.thresholds.staleMargin;
  const before = thresholds(closing);
  for (const [k, thr] of thresholds(widenedRec).entries()) {
    const want = Math.min(0.999, before[k]! + margin);
    t.ok(
      thr > before[k]! && Math.abs(thr - want) < 1e-9,
      `candidate ${k}: ${before[k]} + drift margin ${margin} -> ${thr}`,
    );
  }

  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/drift`);
  t.equal(res.status, 200);
  const report = parseDriftReport(await res.json());
  const v = report.versions.find((x) => x.modelVersion === model.version)!;
  t.ok(v.active && v.history.length === 1, 'the report holds the closed window');
  t.equal(v.history[0]!.rows, WINDOW_ROWS);

  const dir = mkdtempSync(join(tmpdir(), 'atp-drift-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let out = '';
  const append = (s: string) => {
    out += s;
  };
  const io = { stdout: append, stderr: append, env: {} };
  const url = `http://127.0.0.1:${httpPort}`;
  t.equal(await runAtpctl(['drift', 'report', '--sidecar', url, '--html', join(dir, 'd.html')], io), 0);
  t.match(out, new RegExp(`drift alarms: ${model.version} \\[`));
  t.match(out, /ALARM/);
  t.match(readFileSync(join(dir, 'd.html'), 'utf8'), /<svg[^>]*PSI \/ threshold/);
  out = '';
  t.equal(await runAtpctl(['--json', 'drift', 'report', '--sidecar', url], io), 0);
  const json = JSON.parse(out) as { active: { model_version: string }[] };
  t.equal(json.active[0]!.model_version, model.version);
  out = '';
  t.equal(await runAtpctl(['drift', 'report', '--sidecar', 'ftp://x'], io), 2, 'a bad URL is a usage error');
  t.match(out, /--sidecar/);
  out = '';
  t.equal(
    await runAtpctl(['drift', 'report', '--sidecar', 'http://127.0.0.1:9'], io),
    3,
    'nobody answered: retry later',
  );
});
