import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { FeatureState } from '../../../features/src/feature-state.js';
import { FEATURE_COUNT, FEATURE_NAMES, fillFeatureVector } from '../../../features/src/feature-vector.js';
import { NodeBatchAccumulator } from '../../../features/src/node-batch-features.js';
import { DEFAULT_BATCH_FEATURES, type NodeInfo } from '../../../features/src/node-profile.js';
import { SkuRateSketch } from '../../../features/src/sku-rate-sketch.js';
import type { InventoryEvent } from '../../../proto/v1/inventory-event.js';
import { buildDataset, type DecisionDataset } from '../../../training/src/dataset/build-dataset.js';
import { CANCELLED_NONE } from '../../../training/src/dataset/decision-rows.js';
import { simulatedDataset } from '../../../training/src/dataset/simulated-dataset.js';
import { splitByTime } from '../../../training/src/dataset/split-dataset.js';
import {
  csvHeader,
  float32Text,
  LABEL_COLUMN,
  SEGMENT_COLUMNS,
  writeRowsCsv,
} from '../../../training/src/dataset/write-csv.js';
import type {
  SimCheckoutRecord,
  SimOutcomeRecord,
  SimRecord,
} from '../../../training/src/simulator/sim-record.js';
import { Simulator } from '../../../training/src/simulator/simulator.js';

const MIN = 60_000;
const EVENTS = 200_000;
const OPTIONS = { warmupMs: 45 * MIN, batchIntervalMs: 30 * MIN };

function collect(seed: number): { records: SimRecord[]; nodes: NodeInfo[] } {
  const sim = new Simulator({ seed, maxEvents: EVENTS });
  return { records: [...sim.run()], nodes: sim.world.nodes };
}

const world = collect(7);
const dataset = buildDataset(world.records, world.nodes, OPTIONS);

t.test('the world yields labelled rows after the warm-up, several batch versions, few dropped', async (t) => {
  t.ok(dataset.rows > 10_000, `${dataset.rows} rows`);
  const w = dataset.window;
  t.ok(w.batchVersions.length >= 2, `${w.batchVersions.length} batch versions`);
  t.equal(w.batchVersions[0]!.asOfMs, w.warmupEndMs);
  t.ok(dataset.atMs[0]! >= w.warmupEndMs, 'no row before the warm-up ends');
  t.ok(dataset.atMs[dataset.rows - 1]! <= w.labelledUntilMs, 'no row after the labelled window');
  t.ok(w.labelledUntilMs < w.lastDecisionMs, 'the window ends a handling time before the last decision');
  let ordered = true;
  for (let i = 1; i < dataset.rows; i++) if (dataset.atMs[i]! < dataset.atMs[i - 1]!) ordered = false;
  t.ok(ordered, 'rows are in decision-time order');
});

t.test(
  'every vector equals fillFeatureVector on an independently replayed FeatureState (no training-serving skew)',
  async (t) => {
    const nodes = new Map(world.nodes.map((n) => [n.nodeId, n]));
    const boundaries = dataset.window.batchVersions.map((b) => b.asOfMs);
    // One accumulator per batch version, fed only with events delivered strictly before its boundary.
    const accs = boundaries.map(() => new NodeBatchAccumulator());
    const snapshots = new Map<number, ReturnType<NodeBatchAccumulator['result']>>();
    const state = new FeatureState();
    const sketch = new SkuRateSketch();
    const expected = new Float32Array(FEATURE_COUNT);
    let row = 0;
    let checkoutNo = 0;
    let mismatches = 0;
    let checked = 0;
    for (const r of world.records) {
      if (r.type === 'event') {
        state.apply(r.event);
        boundaries.forEach((b, k) => {
          if (r.deliverAtMs < b) accs[k]!.observe(r.event, r.deliverAtMs);
        });
        continue;
      }
      if (r.type !== 'checkout') continue;
      checkoutNo++;
      sketch.observe(r.sku, r.atMs);
      if (row >= dataset.rows || r.atMs < dataset.window.warmupEndMs) continue;
      let version = -1;
      for (let k = 0; k < boundaries.length; k++) if (boundaries[k]! <= r.atMs) version = k;
      if (!snapshots.has(version)) snapshots.set(version, accs[version]!.result());
      const batch = snapshots.get(version)!;
      // Rows of checkouts without an outcome were dropped: skip checkouts the dataset does not hold.
      if (dataset.checkout[row] !== checkoutNo) continue;
      for (let k = 0; k < r.candidates.length; k++, row++) {
        const node = nodes.get(r.candidates[k]!)!;
        fillFeatureVector(
          expected,
          0,
          state.get(r.sku, node.nodeId),
          0,
          state.getNode(node.nodeId),
          node,
          batch.get(node.nodeId) ?? DEFAULT_BATCH_FEATURES,
          { qty: r.qty, nowMs: r.atMs, skuRatePerMin: sketch.ratePerMin(r.sku, r.atMs), streamLagMs: 0 },
        );
        const got = dataset.x.subarray(row * FEATURE_COUNT, (row + 1) * FEATURE_COUNT);
        for (let f = 0; f < FEATURE_COUNT; f++) if (!Object.is(got[f], expected[f])) mismatches++;
        checked++;
      }
    }
    t.equal(checked, dataset.rows, 'every row checked');
    t.equal(mismatches, 0, 'bit-identical vectors');
  },
);

t.test(
  'labels join each outcome to its candidates in order; promised picks match the pick result',
  async (t) => {
    const checkouts: SimCheckoutRecord[] = [];
    const outcomes = new Map<string, SimOutcomeRecord>();
    for (const r of world.records) {
      if (r.type === 'checkout') checkouts.push(r);
      else if (r.type === 'outcome') outcomes.set(r.checkoutId, r);
    }
    let wrong = 0;
    let promisedPicked = 0;
    for (let i = 0; i < dataset.rows; i++) {
      // The row's checkout number counts every checkout of the stream from 1.
      const c = checkouts[dataset.checkout[i]! - 1]!;
      const o = outcomes.get(c.checkoutId)!;
      const k = dataset.rank[i]!;
      if (dataset.y[i] !== (o.feasible[k] ? 1 : 0)) wrong++;
      if (dataset.atMs[i] !== c.atMs) wrong++;
      if ((c.candidates[k] === c.promisedNode) !== (dataset.promisedBySim[i] === 1)) wrong++;
      if (dataset.promisedBySim[i] === 1 && dataset.cancelled[i] === CANCELLED_NONE) {
        promisedPicked++;
        if ((dataset.y[i] === 1) !== o.pickSucceeded) wrong++;
        if ((dataset.y[i] === 0) !== o.oversold) wrong++;
      }
    }
    t.equal(wrong, 0);
    t.ok(promisedPicked > 1_000, `${promisedPicked} promised, uncancelled rows checked against the pick`);
  },
);

t.test('batch features never see events delivered after their boundary', async (t) => {
  // Node SL-1: 30 reservations end in releases before the boundary (cancel rate 0), then 30 in
  // cancellations after it. A checkout after both must still read cancel rate 0 from the batch.
  const T = Date.UTC(2026, 0, 5);
  const node: NodeInfo = {
    nodeId: 'SL-1',
    nodeType: 'seller',
    region: 'eu-west',
    zone: 'Z0-0',
    handlingHours: 1,
    baseCost: 1,
    serviceRadius: 2,
    dailyOrderCap: 0,
    blackoutHoursUtc: null,
  };
  const records: SimRecord[] = [];
  let seq = 0;
  const event = (kind: InventoryEvent['kind'], q: number, atMs: number): void => {
    records.push({
      type: 'event',
      deliverAtMs: atMs,
      held: false,
      event: {
        eventId: `e${seq}`,
        sku: 'S1',
        node: 'SL-1',
        kind,
        quantity: q,
        sequence: ++seq,
        eventTimeMs: atMs,
        source: 'third-party',
      },
    });
  };
  event('receipt', 100, T);
  for (let i = 0; i < 30; i++) {
    event('reservation', 1, T + 1000 + i * 10);
    event('release', 1, T + 1005 + i * 10);
  }
  const boundary = T + 10 * MIN;
  for (let i = 0; i < 30; i++) {
    event('reservation', 1, boundary + 1000 + i * 10);
    event('cancellation', 1, boundary + 1005 + i * 10);
  }
  const at = boundary + 2 * MIN;
  records.push({
    type: 'checkout',
    atMs: at,
    checkoutId: 'c1',
    region: 'eu-west',
    buyerZone: 'Z0-0',
    sku: 'S1',
    qty: 1,
    channel: 'checkout',
    candidates: ['SL-1'],
    promisedNode: 'SL-1',
  });
  records.push({
    type: 'outcome',
    atMs: at + 3_600_000,
    checkoutId: 'c1',
    sku: 'S1',
    qty: 1,
    feasible: [true],
    promisedNode: 'SL-1',
    pickSucceeded: true,
    oversold: false,
    cancelledBy: null,
  });
  // A later checkout ends the window: the first one is then more than a handling time before the last.
  records.push({ ...(records.at(-2) as SimCheckoutRecord), atMs: at + 2 * 3_600_000, checkoutId: 'c2' });
  const d = buildDataset(records, [node], { warmupMs: 10 * MIN, batchIntervalMs: 0 });
  t.equal(d.rows, 1);
  const cancelRate = d.x[FEATURE_NAMES.indexOf('node_cancel_rate')]!;
  t.equal(cancelRate, 0, 'the batch built at the boundary saw only releases');
  t.equal(d.window.batchVersions.length, 1);
  t.equal(d.window.batchVersions[0]!.eventsSeen, 61, 'the receipt and the 60 events before the boundary');
});

t.test('the same seed gives the same rows byte for byte; another seed does not', async (t) => {
  // A quick world: short handling times, so a short run still labels most of its checkouts.
  const quick = { handlingHours: [0.25, 0.5] as const };
  const small = {
    events: 60_000,
    warmupMs: 20 * MIN,
    batchIntervalMs: 30 * MIN,
    sim: { nodes: { warehouse: quick, store: quick, seller: quick } },
  };
  const a = simulatedDataset({ seed: 3, ...small }).dataset;
  const b = simulatedDataset({ seed: 3, ...small }).dataset;
  const c = simulatedDataset({ seed: 4, ...small }).dataset;
  // Digests, not t.same on megabytes (tap would diff them element by element).
  const bytes = (d: DecisionDataset): string =>
    createHash('sha256').update(Buffer.from(d.x.buffer)).update(Buffer.from(d.y.buffer)).digest('hex');
  t.ok(a.rows > 1_000, `${a.rows} rows`);
  t.equal(bytes(a), bytes(b));
  t.not(bytes(a), bytes(c));
});

t.test('the time split keeps order, cuts between checkouts and covers every row once', async (t) => {
  const s = splitByTime(dataset, { train: 0.7, valid: 0.15 });
  t.equal(s.train.rows + s.valid.rows + s.test.rows, dataset.rows);
  t.ok(s.train.atMs[s.train.rows - 1]! <= s.valid.atMs[0]!);
  t.ok(s.valid.atMs[s.valid.rows - 1]! <= s.test.atMs[0]!);
  t.not(s.train.checkout[s.train.rows - 1], s.valid.checkout[0], 'no checkout straddles the cut');
  t.ok(Math.abs(s.train.rows / dataset.rows - 0.7) < 0.01);
});

t.test('the CSV has the header (features, label, segments) and one faithful line per row', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atp-csv-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const rows = splitByTime(dataset, { train: 0.05, valid: 0.05 }).train;
  await writeRowsCsv(join(dir, 'train.csv'), rows, () => 7);
  const lines = readFileSync(join(dir, 'train.csv'), 'utf8').trimEnd().split('\n');
  const header = lines[0]!.split(',');
  t.same(header, [...FEATURE_NAMES, LABEL_COLUMN, ...SEGMENT_COLUMNS]);
  t.equal(lines[0], csvHeader());
  t.equal(lines.length, rows.rows + 1);
  let bad = 0;
  for (let i = 0; i < rows.rows; i++) {
    const cells = lines[i + 1]!.split(',');
    if (cells.length !== header.length) bad++;
    for (let f = 0; f < FEATURE_COUNT; f++)
      if (Math.fround(Number(cells[f])) !== rows.x[i * FEATURE_COUNT + f]) bad++;
    if (Number(cells[FEATURE_COUNT]) !== rows.y[i]) bad++;
    if (cells[FEATURE_COUNT + 1] !== '7') bad++;
  }
  t.equal(bad, 0);
  t.equal(float32Text(Math.fround(0.1)), '0.1');
  t.equal(float32Text(3), '3');
});
