/**
 * The business-impact report from a real join store: the outcome join over
 * a seeded A/B world (a pre-period under arm `none`, then control vs
 * challenger 50/50) into SQLite, then the installed
 * `atp-evaluate report --html --json-file`.
 * Every number of the JSON is checked against a recomputation from the
 * world's records written here (Wilson, Newcombe, the mixture likelihood
 * ratio, CUPED on per-item arrays, the money view, decisions per arm); the
 * HTML is self-contained (inline SVG, no external reference) and embeds the
 * same JSON; bad flags are refused by name.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import t from 'tap';
import { economicsFromFlags, sharesFromFlag } from '../../../evaluation/src/impact-flags.js';
import {
  AGGREGATE_COLUMNS,
  type AggregateCounts,
  emptyCounts,
} from '../../../evaluation/src/join/join-counts.js';
import { OutcomeJoin, type RecordBatch } from '../../../evaluation/src/join/outcome-join.js';
import { SqliteJoinStore } from '../../../evaluation/src/join/sqlite-join-store.js';
import {
  type BusinessImpactReport,
  buildBusinessImpact,
  type Metric,
} from '../../../evaluation/src/report/business-impact.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import type { World } from '../join/join-stream.js';
import { MIN, orderedLines, REGION, recompute, wilson95 } from '../join/join-stream.js';
import { abWorld } from './ab-world.js';

const BIN = joinPath(REPO_ROOT, 'evaluation/bin/atp-evaluate.js');
const HORIZON_MS = 60 * MIN;
const dir = mkdtempSync(joinPath(tmpdir(), 'atp-eval-impact-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Counts = AggregateCounts;

/** Per arm, the join's counts summed over segments, from the batch recomputation of the world. */
function countsByArm(w: World): Map<string, Counts> {
  const out = new Map<string, Counts>();
  for (const [key, c] of recompute(w, HORIZON_MS)) {
    const arm = key.split('|')[1] as string;
    const acc = out.get(arm) ?? emptyCounts();
    for (const k of AGGREGATE_COLUMNS) acc[k] += c[k];
    out.set(arm, acc);
  }
  return out;
}

function ratio(c: Counts, m: Metric): [number, number] {
  const g = (k: keyof Counts) => c[k];
  if (m === 'promiseRate') return [g('promised'), g('requested')];
  if (m === 'oversellRate') return [g('short_picked'), g('fulfilled') + g('short_picked')];
  if (m === 'fulfilmentReliability') return [g('on_time'), g('outcomes') - g('cancelled_buyer')];
  if (m === 'conversionProxy') return [g('fulfilled'), g('requested')];
  return [g('false_denied'), g('denied_truth')];
}

/** Newcombe's hybrid score interval of pT - pC, written out. */
function newcombe(xt: number, nt: number, xc: number, nc: number) {
  const a = wilson95(xt, nt);
  const b = wilson95(xc, nc);
  const d = a.rate - b.rate;
  return {
    estimate: d,
    lower: d - Math.sqrt((a.rate - a.lower) ** 2 + (b.upper - b.rate) ** 2),
    upper: d + Math.sqrt((a.upper - a.rate) ** 2 + (b.rate - b.lower) ** 2),
  };
}

/** The always-valid p-value of one look: 1 / Lambda of the N(0, tau^2) mixture, plug-in variance shrunk by 1/2 event. */
function msprtP(xt: number, nt: number, xc: number, nc: number): number {
  const tau2 = 1e-4;
  const shrunk = (x: number, n: number) => {
    const p = (x + 0.5) / (n + 1);
    return (p * (1 - p)) / n;
  };
  const v = shrunk(xt, nt) + shrunk(xc, nc);
  const d = xt / nt - xc / nc;
  const lnLambda = 0.5 * Math.log(v / (v + tau2)) + (d * d * tau2) / (2 * v * (v + tau2));
  return Math.min(1, Math.exp(-lnLambda));
}

/** CUPED on per-item arrays: Y = oversold (picked items), X = the item's segment's pre-period oversell rate. */
function cupedOversell(w: World): { estimate: number; varianceReduction: number } {
  const outcomes = new Map(w.outcomes.map((o) => [`${o.decisionId}:${o.sku}`, o]));
  const seg = (d: World['decisions'][number], it: World['decisions'][number]['items'][number]) =>
    `${it.nodeType}/${it.hot}/${d.channel}/${d.degradations.length > 0}`;
  const picked: { arm: string; seg: string; y: number }[] = [];
  for (const d of w.decisions) {
    for (const it of d.items) {
      const o = outcomes.get(`${d.decisionId}:${it.sku}`);
      if (!it.promised || o === undefined) continue;
      if (o.status !== 'fulfilled' && o.status !== 'short-picked') continue;
      picked.push({ arm: d.arm, seg: seg(d, it), y: o.status === 'short-picked' ? 1 : 0 });
    }
  }
  const pre = new Map<string, [number, number]>();
  for (const p of picked.filter((p) => p.arm === 'none')) {
    const s = pre.get(p.seg) ?? [0, 0];
    pre.set(p.seg, [s[0] + p.y, s[1] + 1]);
  }
  const xs = (p: { seg: string }) => {
    const s = pre.get(p.seg) as [number, number];
    return s[0] / s[1];
  };
  const arm = (name: string) => picked.filter((p) => p.arm === name).map((p) => ({ y: p.y, x: xs(p) }));
  const tr = arm('challenger');
  const co = arm('control');
  const all = [...tr, ...co];
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const mx = mean(all.map((p) => p.x));
  const my = mean(all.map((p) => p.y));
  const cov = all.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const vx = all.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const theta = vx > 0 ? cov / vx : 0;
  const adj = (a: { y: number; x: number }[]) => a.map((p) => p.y - theta * (p.x - mx));
  const variance = (a: number[]) => {
    const m = mean(a);
    return a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1) / a.length;
  };
  const plainV = variance(tr.map((p) => p.y)) + variance(co.map((p) => p.y));
  const adjV = variance(adj(tr)) + variance(adj(co));
  return { estimate: mean(adj(tr)) - mean(adj(co)), varianceReduction: 1 - adjV / plainV };
}

const world = abWorld(200, 1_400, 31);
const lines = orderedLines(world);
const db = joinPath(dir, 'eval.sqlite');
{
  // The store is written by the join itself (in process: two large batches, then every window
  // closed, as `atp-evaluate run --close-all` does, without one fsync per small file batch).
  const store = new SqliteJoinStore(db);
  const join = new OutcomeJoin(store, { region: REGION, horizonMs: HORIZON_MS, latenessMs: 10 * MIN });
  const batch = (stream: 'decisions' | 'outcomes'): RecordBatch => ({
    stream,
    source: stream,
    partition: 0,
    records: lines
      .filter((l) => l.stream === stream)
      .map((l, offset) => ({ offset, key: l.key, value: l.text })),
    caughtUp: true,
  });
  const batches = [batch('decisions'), batch('outcomes')];
  join.registerPartitions(
    batches.map((b) => ({ source: b.source, partition: 0, endOffset: b.records.length })),
  );
  for (const b of batches) join.apply(join.prepare(b));
  join.closeAll();
  store.close();
}

t.test('the JSON report equals a recomputation from the world', async (t) => {
  const html = joinPath(dir, 'impact.html');
  const json = joinPath(dir, 'impact.json');
  const economics = joinPath(dir, 'economics.json');
  writeFileSync(economics, JSON.stringify({ margin_per_sale: 12, cost_per_oversell: 40, currency: 'USD' }));
  const r = cli(
    'report',
    '--db',
    db,
    '--html',
    html,
    '--json-file',
    json,
    '--economics',
    economics,
    '--cost-per-cancellation',
    '7',
  );
  t.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(readFileSync(json, 'utf8')) as BusinessImpactReport;
  t.same(rep.economics, { marginPerSale: 12, costPerOversell: 40, costPerCancellation: 7, currency: 'USD' });
  t.same(rep.controlArm, { 'eu-west': 'control' }, 'control chosen by name');
  t.equal(rep.prePeriod, 'none-arm', 'the none arm is the pre-period');
  t.same(
    rep.arms.map((a) => a.arm),
    ['challenger', 'control'],
    'the pre-period is not an arm',
  );

  const byArm = countsByArm(world);
  const metrics: Metric[] = [
    'promiseRate',
    'oversellRate',
    'fulfilmentReliability',
    'conversionProxy',
    'falseDenialRate',
  ];
  for (const a of rep.arms) {
    const c = byArm.get(a.arm) as Counts;
    t.same(a.counts, c, `${a.arm}: counts`);
    for (const m of metrics) {
      const [x, n] = ratio(c, m);
      const w = wilson95(x, n);
      t.ok(
        Math.abs((a.rates[m].lower ?? -1) - w.lower) < 1e-9 &&
          Math.abs((a.rates[m].upper ?? -1) - w.upper) < 1e-9,
        `${a.arm} ${m}: Wilson`,
      );
    }
    const value = (12 * c.fulfilled - 40 * c.short_picked - 7 * c.cancelled_seller) / c.requested;
    t.ok(Math.abs((a.valuePerItem ?? Number.NaN) - value) < 1e-12, `${a.arm}: value per item`);
  }

  const cmp = rep.comparisons.find((c) => c.segment === null && c.arm === 'challenger');
  t.ok(cmp, 'challenger compared to control');
  const ct = byArm.get('challenger') as Counts;
  const cc = byArm.get('control') as Counts;
  for (const m of metrics) {
    const [xt, nt] = ratio(ct, m);
    const [xc, nc] = ratio(cc, m);
    const got = cmp?.metrics.find((k) => k.metric === m);
    const want = newcombe(xt, nt, xc, nc);
    t.ok(
      got?.difference !== null &&
        got?.difference !== undefined &&
        Math.abs(got.difference.estimate - want.estimate) < 1e-12 &&
        Math.abs(got.difference.lower - want.lower) < 1e-9 &&
        Math.abs(got.difference.upper - want.upper) < 1e-9,
      `${m}: Newcombe difference`,
    );
    t.ok(Math.abs((got?.sequential?.pValue ?? -1) - msprtP(xt, nt, xc, nc)) < 1e-9, `${m}: always-valid p`);
  }
  const oversell = cmp?.metrics.find((k) => k.metric === 'oversellRate');
  t.ok((oversell?.difference?.upper ?? 1) < 0, 'the challenger oversells less: interval excludes 0');
  t.equal(oversell?.sequential?.rejected, true, 'and the always-valid test says so');
  const cuped = cupedOversell(world);
  t.ok(
    Math.abs((oversell?.cuped?.estimate ?? 1) - cuped.estimate) < 1e-9,
    'CUPED estimate from per-item arrays',
  );
  t.ok(
    Math.abs((oversell?.cuped?.varianceReduction ?? 1) - cuped.varianceReduction) < 1e-6,
    'CUPED variance reduction',
  );

  const m = cmp?.money;
  const vt = (12 * ct.fulfilled - 40 * ct.short_picked - 7 * ct.cancelled_seller) / ct.requested;
  const vc = (12 * cc.fulfilled - 40 * cc.short_picked - 7 * cc.cancelled_seller) / cc.requested;
  t.ok(Math.abs((m?.differencePerItem.estimate ?? 0) - (vt - vc)) < 1e-12, 'money: difference per item');
  t.ok(
    Math.abs((m?.projectedDifference ?? 0) - (vt - vc) * ct.requested) < 1e-6,
    'money: over the arm volume',
  );
  const avoided =
    (cc.short_picked / (cc.fulfilled + cc.short_picked) -
      ct.short_picked / (ct.fulfilled + ct.short_picked)) *
    (ct.fulfilled + ct.short_picked);
  t.ok(Math.abs((m?.oversellsAvoided ?? 0) - avoided) < 1e-9, 'money: oversells avoided');
  t.ok(Math.abs((m?.oversellCostSaved ?? 0) - avoided * 40) < 1e-6, 'money: oversell cost saved');
  t.ok(
    (m?.differencePerItem.lower ?? 0) < (m?.differencePerItem.estimate ?? 0) &&
      (m?.differencePerItem.estimate ?? 0) < (m?.differencePerItem.upper ?? 0),
    'money: an interval around the difference',
  );

  const decisionsPerArm = (arm: string) => world.decisions.filter((d) => d.arm === arm).length;
  t.same(
    rep.srm[0]?.decisions,
    [decisionsPerArm('challenger'), decisionsPerArm('control')],
    'SRM: decisions per arm',
  );
  t.equal(rep.srm[0]?.result?.mismatch, false, 'a 50/50 split passes the sample-ratio check');
  t.ok(
    rep.segments.length > 4 && rep.comparisons.some((c) => c.segment !== null),
    'per-segment figures and comparisons',
  );

  const page = readFileSync(html, 'utf8');
  t.ok((page.match(/<svg /g) ?? []).length >= 8, 'plots as inline SVG');
  t.notMatch(
    page,
    /<script[^>]*\bsrc=|<link |https?:\/\/(?!www\.w3\.org\/2000\/svg)/,
    'nothing loaded from elsewhere',
  );
  const embedded =
    page.match(/<script type="application\/json" id="business-impact">(.*)<\/script>/s)?.[1] ?? '{}';
  t.same(JSON.parse(embedded), rep, 'the page embeds the same JSON');
  t.match(page, /realized oversell rate/);
});

t.test('a planned split the decisions do not follow trips the sample-ratio check', async (t) => {
  const store = new SqliteJoinStore(db, { readonly: true });
  t.teardown(() => store.close());
  const rep = buildBusinessImpact(store.aggregates(), store.armDecisions(), {
    expectedShares: { control: 0.3, challenger: 0.7 },
  });
  t.same(rep.srm[0]?.expectedShares, [0.7, 0.3]);
  t.equal(rep.srm[0]?.result?.mismatch, true);
  t.throws(
    () => buildBusinessImpact(store.aggregates(), store.armDecisions(), { expectedShares: { control: 1 } }),
    { field: 'expectedShares', message: /challenger/ },
    'an arm without a share is refused',
  );
});

t.test('bad report flags are refused by name with exit code 2', async (t) => {
  const out = joinPath(dir, 'x.json');
  // Through the command: a check that needs the store.
  const cases: [string[], RegExp][] = [[['--control-arm', 'nobody'], /--control-arm/]];
  for (const [flags, field] of cases) {
    const r = cli('report', '--db', db, '--json-file', out, ...flags);
    t.equal(r.code, 2, `${flags.join(' ')}: exit 2`);
    t.match(r.stderr, field, `${flags.join(' ')}: names the flag`);
  }
  // The rest in process (each spawn costs a TypeScript start).
  const refused = (fn: () => unknown, flag: string) =>
    t.throws(fn, { code: 'ATP_ERR_INVALID_FLAG', field: flag }, `${flag} refused`);
  refused(() => sharesFromFlag('control=x'), '--expected-shares');
  refused(() => economicsFromFlags({ marginPerSale: '-1' }), '--margin-per-sale');
  refused(() => economicsFromFlags({ currency: 'euro' }), '--currency');
  refused(() => economicsFromFlags({ economics: joinPath(dir, 'missing.json') }), '--economics');
  const unknownKey = joinPath(dir, 'bad-economics.json');
  writeFileSync(unknownKey, JSON.stringify({ margin: 3 }));
  refused(() => economicsFromFlags({ economics: unknownKey }), '--economics');
  refused(() => economicsFromFlags({ costPerOversell: 'lots' }), '--cost-per-oversell');
});
