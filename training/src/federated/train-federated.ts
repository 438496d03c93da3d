/**
 * Federated GBDT training under data residency. The coordinator (hosted in
 * the first region of the federation) never sees a row: it agrees bin edges
 * from the regions' quantile sketches, then grows every tree exactly as the
 * pooled TreeBuilder does (best-gain-first leaves, the smaller child's
 * histogram built and the larger one obtained by subtraction, the same
 * depth, leaf and child-weight limits, the same feature sampling stream),
 * but on histograms that are the sum of the regions' histograms. Regions
 * send only aggregates through the BorderGuard; the coordinator sends back
 * split decisions and finished trees.
 *
 * Same edges + same merged sums => the same split choices as the pooled
 * trainer on the concatenated rows; the only difference is the order of
 * float64 additions in a histogram cell (tests bound the effect).
 */
import type { FeatureBins } from '../gbdt/feature-bins.js';
import type { GbdtModel, GbdtTree } from '../gbdt/gbdt-model.js';
import { type GbdtParams, gbdtParamError, resolveGbdtParams } from '../gbdt/gbdt-params.js';
import { logit } from '../gbdt/log-loss.js';
import { findBestSplit, leafValue, type SplitCandidate } from '../gbdt/split-gain.js';
import { COL_SAMPLE_STREAM, countLeaves, type RoundInfo, sampleFeatures } from '../gbdt/train-gbdt.js';
import { newTree, trimTree } from '../gbdt/tree-builder.js';
import { Prng } from '../simulator/prng.js';
import { BorderGuard, type BorderTraffic } from './border-guard.js';
import { binEdgesAggregate, mergeSketches } from './quantile-sketch.js';
import { type Aggregate, aggregate } from './region-data.js';
import type { RegionWorker } from './region-worker.js';
import { treeAggregate } from './region-worker.js';

/**
 * Relative gain margin under which two candidate splits tie (the lowest
 * feature, then bin, wins): histogram cells are the same sums added in
 * another order (~1e-16 relative), so a true tie (two features cutting the
 * rows alike) must not be decided by that noise. The pooled baseline uses
 * the same margin.
 */
export const FEDERATED_TIE_TOLERANCE = 1e-9;

export interface FederatedResult {
  model: GbdtModel;
  /** The agreed edges (from sketches only). */
  bins: FeatureBins;
  traffic: BorderTraffic;
  /** Training rows per region (a count: an aggregate). */
  regionRows: Record<string, number>;
}

interface OpenLeaf {
  node: number;
  rows: number;
  depth: number;
  g: number;
  h: number;
  /** Merged histogram, or null when the leaf can never split. */
  hist: Float64Array | null;
  best: SplitCandidate;
}

/** Trains one global model from `workers` (one per region, federation order = pooled row order). */
export function trainFederated(
  workers: readonly RegionWorker[],
  cols: number,
  params: Partial<GbdtParams> = {},
  onRound?: (info: RoundInfo) => void,
): FederatedResult {
  if (workers.length === 0) throw gbdtParamError('regions', 'need at least one region');
  const p = resolveGbdtParams(params);
  const regions = workers.map((w) => w.region);
  const guard = new BorderGuard(regions);
  const home = regions[0]!;
  const up = <K extends Parameters<typeof guard.export>[0]['kind']>(a: Aggregate<K>): Aggregate<K> =>
    guard.export(a, home);
  const down = <K extends Parameters<typeof guard.export>[0]['kind']>(a: Aggregate<K>, w: RegionWorker) =>
    guard.export(a, w.region);

  const counts = workers.map((w) => up(w.counts()).body.values!);
  const rowsOf = counts.map((c) => c[0]!);
  const rows = rowsOf.reduce((a, b) => a + b, 0);
  const validRows = counts.reduce((a, c) => a + c[2]!, 0);
  if (rows < 1) throw gbdtParamError('x.rows', 'need at least one row');
  const positives = counts.reduce((a, c) => a + c[1]!, 0);
  const baseScore = Math.fround(logit(positives / rows));

  const sketches = workers.map((w) => up(w.sketch(Math.ceil(p.binSampleRows / workers.length))));
  const bins = mergeSketches(sketches, cols, p.maxBins);
  const edges = binEdgesAggregate(home, bins);
  const start = aggregate('model', home, {
    op: 'start',
    ints: Int32Array.from([p.seed]),
    reals: Float64Array.from([baseScore]),
  });
  for (const w of workers) w.start(down(edges, w), down(start, w));

  const colRng = new Prng(p.seed, COL_SAMPLE_STREAM);
  const allFeatures = Int32Array.from({ length: cols }, (_, i) => i);
  const featureCount = Math.max(1, Math.round(cols * p.colSubsample));
  const ctx: TreeContext = { workers, up, down, home, cols, bins, p };
  const trees: GbdtTree[] = [];
  const history = { train: [] as number[], valid: [] as number[] };
  let bestValid = Number.POSITIVE_INFINITY;
  let bestRound = -1;
  let rounds = 0;
  for (let t = 0; t < p.nTrees; t++) {
    const features = featureCount >= cols ? allFeatures : sampleFeatures(cols, featureCount, colRng);
    let before = 0;
    const roots = workers.map((w, k) => {
      const after = rows - before - rowsOf[k]!;
      const begin = aggregate('model', home, {
        op: 'begin',
        ints: Int32Array.from([before, after, ...features]),
        reals: Float64Array.from([p.rowSubsample]),
      });
      before += rowsOf[k]!;
      return up(w.beginTree(down(begin, w))).body.values!;
    });
    const tree = growTree(ctx, roots, features);
    trees.push(tree);
    rounds++;
    const treeMsg = treeAggregate(home, tree);
    let trainSum = 0;
    let validSum = 0;
    for (const w of workers) {
      const [ts, vs] = up(w.applyTree(down(treeMsg, w))).body.values!;
      trainSum += ts!;
      validSum += vs!;
    }
    const trainLoss = trainSum / rows;
    history.train.push(trainLoss);
    let validLoss = Number.NaN;
    if (validRows > 0) {
      validLoss = validSum / validRows;
      history.valid.push(validLoss);
      if (validLoss < bestValid) {
        bestValid = validLoss;
        bestRound = t;
      }
    }
    onRound?.({ round: t + 1, rounds: p.nTrees, trainLoss, validLoss, leaves: countLeaves(tree) });
    if (validRows > 0 && p.earlyStoppingRounds > 0 && t - bestRound >= p.earlyStoppingRounds) break;
  }
  if (validRows > 0 && bestRound >= 0 && bestRound < trees.length - 1) {
    trees.length = bestRound + 1;
    history.train.length = bestRound + 1;
    history.valid.length = bestRound + 1;
  }
  const regionRows = Object.fromEntries(regions.map((r, k) => [r, rowsOf[k]!]));
  return {
    model: { featureCount: cols, baseScore, trees, bins, params: p, history, roundsTrained: rounds },
    bins,
    traffic: guard.traffic,
    regionRows,
  };
}

interface TreeContext {
  workers: readonly RegionWorker[];
  up: <K extends Aggregate['kind']>(a: Aggregate<K>) => Aggregate<K>;
  down: <K extends Aggregate['kind']>(a: Aggregate<K>, w: RegionWorker) => Aggregate<K>;
  home: string;
  cols: number;
  bins: FeatureBins;
  p: GbdtParams;
}

/** TreeBuilder.build on merged histograms; `roots` = per region [sampled rows, G, H]. */
function growTree(ctx: TreeContext, roots: Float64Array[], features: Int32Array): GbdtTree {
  const { p } = ctx;
  let count = 0;
  let g = 0;
  let h = 0;
  for (const r of roots) {
    count += r[0]!;
    g += r[1]!;
    h += r[2]!;
  }
  if (count === 0) throw gbdtParamError('rowSubsample', 'the row sample of a tree is empty in every region');
  const t = newTree(Math.min(2 * p.maxLeaves - 1, 2 ** (p.maxDepth + 1) - 1));
  t.nodeCount = 1;
  t.cover[0] = h;
  const open: OpenLeaf[] = [openLeaf(ctx, 0, count, 0, g, h, mergedHistogram(ctx, 0, features), features)];
  const done: OpenLeaf[] = [];
  let leaves = 1;
  while (leaves < p.maxLeaves) {
    let bi = -1;
    for (let i = 0; i < open.length; i++) {
      const l = open[i]!;
      if (l.best.gain === Number.NEGATIVE_INFINITY) continue;
      if (bi < 0 || l.best.gain > open[bi]!.best.gain) bi = i;
    }
    if (bi < 0) break;
    const leaf = open[bi]!;
    open.splice(bi, 1);
    leaves++;
    for (const child of splitLeaf(ctx, t, leaf, features)) {
      if (child.hist === null) done.push(child);
      else open.push(child);
    }
  }
  for (const l of open) done.push(l);
  for (const l of done) t.value[l.node] = Math.fround(p.learningRate * leafValue(l.g, l.h, p.lambdaL2));
  return trimTree(t);
}

function splitLeaf(ctx: TreeContext, t: GbdtTree, leaf: OpenLeaf, features: Int32Array): OpenLeaf[] {
  const { feature: f, bin, gl, hl } = leaf.best;
  const node = leaf.node;
  const li = t.nodeCount;
  const ri = li + 1;
  t.nodeCount += 2;
  t.feature[node] = f;
  t.thresholdBin[node] = bin;
  t.threshold[node] = ctx.bins.edges[f]![bin]!;
  t.left[node] = li;
  t.right[node] = ri;
  t.gain[node] = leaf.best.gain;
  t.cover[li] = hl;
  t.cover[ri] = leaf.h - hl;
  const msg = aggregate('model', ctx.home, { op: 'split', ints: Int32Array.from([node, f, bin, li, ri]) });
  let leftCount = 0;
  let rightCount = 0;
  for (const w of ctx.workers) {
    const [lc, rc] = ctx.up(w.split(ctx.down(msg, w))).body.values!;
    leftCount += lc!;
    rightCount += rc!;
  }
  const depth = leaf.depth + 1;
  let leftHist: Float64Array | null = null;
  let rightHist: Float64Array | null = null;
  if (depth < ctx.p.maxDepth && (leftCount >= 2 || rightCount >= 2) && leaf.hist !== null) {
    const leftIsSmall = leftCount <= rightCount;
    const small = mergedHistogram(ctx, leftIsSmall ? li : ri, features);
    const parent = leaf.hist;
    const maxBins = ctx.p.maxBins;
    for (const ff of features) {
      const base = ff * maxBins * 2;
      const len = ctx.bins.binCounts[ff]! * 2;
      for (let i = base; i < base + len; i++) parent[i]! -= small[i]!;
    }
    leftHist = leftIsSmall ? small : parent;
    rightHist = leftIsSmall ? parent : small;
    if (leftCount < 2) leftHist = null;
    if (rightCount < 2) rightHist = null;
  }
  return [
    openLeaf(ctx, li, leftCount, depth, gl, hl, leftHist, features),
    openLeaf(ctx, ri, rightCount, depth, leaf.g - gl, leaf.h - hl, rightHist, features),
  ];
}

function openLeaf(
  ctx: TreeContext,
  node: number,
  rows: number,
  depth: number,
  g: number,
  h: number,
  hist: Float64Array | null,
  features: Int32Array,
): OpenLeaf {
  const best: SplitCandidate = { gain: Number.NEGATIVE_INFINITY, feature: -1, bin: -1, gl: 0, hl: 0 };
  if (hist !== null) {
    const p = ctx.p;
    findBestSplit(
      hist,
      0,
      features,
      ctx.bins.binCounts,
      p.maxBins,
      g,
      h,
      p.lambdaL2,
      p.minSplitGain,
      p.minChildWeight,
      best,
      FEDERATED_TIE_TOLERANCE,
    );
  }
  return { node, rows, depth, g, h, hist, best };
}

/** Sum over regions of `node`'s histogram, unpacked to the trainer's layout (cols x maxBins x [g, h]). */
function mergedHistogram(ctx: TreeContext, node: number, features: Int32Array): Float64Array {
  const maxBins = ctx.p.maxBins;
  const out = new Float64Array(ctx.cols * maxBins * 2);
  // Packed position -> layout position, features in use only.
  const map = new Int32Array(features.reduce((a, f) => a + ctx.bins.binCounts[f]!, 0));
  let k = 0;
  for (const f of features) {
    for (let b = 0; b < ctx.bins.binCounts[f]!; b++) map[k++] = (f * maxBins + b) * 2;
  }
  for (const w of ctx.workers) {
    const body = ctx.up(w.histogram(node)).body;
    if (body.dense !== undefined) {
      const d = body.dense;
      for (let i = 0; i < map.length; i++) {
        out[map[i]!]! += d[2 * i]!;
        out[map[i]! + 1]! += d[2 * i + 1]!;
      }
    } else {
      const index = body.index!;
      const s = body.sparse!;
      for (let i = 0; i < index.length; i++) {
        const o = map[index[i]!]!;
        out[o]! += s[2 * i]!;
        out[o + 1]! += s[2 * i + 1]!;
      }
    }
  }
  return out;
}
