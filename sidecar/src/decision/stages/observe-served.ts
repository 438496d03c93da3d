/**
 * After a ranker run, what was served goes to the drift watch (every
 * scored candidate's row and calibrated p), to the recent-decision ring when
 * it is on (every scored candidate's row, for the console's explorer) and,
 * for a sampled request, to the feature audit (the row itself, with the
 * watermarks the skew audit replays the event log to). Only each candidate's own row: ladder rows are
 * the same record at other quantities, not traffic. Runs on the request
 * path, so the drift part only counts (typed arrays, no allocation); the
 * audit copies a row only for the sampled requests.
 */
import { driftRecordKey } from '@mercato/features/drift/record-key';
import { FEATURE_COUNT, featureSchemaHash } from '@mercato/features/feature-vector';
import { N, NODE_RECORD_WIDTH, R, RECORD_WIDTH } from '@mercato/features/record-layout';
import type { NodeDirectory } from '@mercato/features/store-ports';
import type { DriftHistogram } from '@mercato/proto/v1/model-manifest';
import type { ModelScores } from '../model-scores.js';
import type { DriftWatch, ScoringModel, ServedFeatureAudit, ServedRowSink } from '../ports.js';
import type { Plan } from './plan.js';

const NO_BASELINE: Readonly<Record<string, DriftHistogram>> = Object.freeze({});
const SCHEMA = featureSchemaHash();

export function observeServed(
  batch: Float32Array,
  layout: Int32Array,
  scores: ModelScores,
  plan: Plan,
  model: ScoringModel,
  directory: NodeDirectory,
  drift: DriftWatch | null,
  audit: ServedFeatureAudit | null,
  decisionId: string,
  nowMs: number,
  served: ServedRowSink | null = null,
): void {
  const sampled = audit?.sample() === true;
  if (drift === null && !sampled && served === null) return;
  const baseline = model.driftBaseline ?? NO_BASELINE;
  for (const item of plan.items) {
    if (item.kind === 'early') continue;
    for (const cand of item.cands) {
      if (cand.hard !== null) continue;
      const offset = (layout[cand.slot * 2] ?? 0) * FEATURE_COUNT;
      const p = scores.p(cand.slot);
      drift?.observe(
        model.version,
        baseline,
        batch,
        offset,
        p,
        driftRecordKey(item.ctx.sku, cand.retrieved.node.nodeId),
        nowMs,
      );
      served?.keep(decisionId, item.ctx.sku, cand.retrieved.node.nodeId, batch, offset);
      if (!sampled) continue;
      const i = cand.retrieved.index;
      audit!.record({
        decisionId: decisionId,
        region: audit!.region,
        tsMs: Math.round(nowMs),
        modelVersion: model.version,
        featureSchema: SCHEMA,
        batchVersion: directory.batchVersion,
        sku: item.ctx.sku,
        node: cand.retrieved.node.nodeId,
        qty: item.ctx.qty,
        nextSeq: item.view.recs[i * RECORD_WIDTH + R.nextSeq] ?? 1,
        nodeWatermarkMs: item.view.nodeRecs[i * NODE_RECORD_WIDTH + N.lastEventMs] ?? 0,
        skuRatePerMin: item.ctx.ratePerMin,
        streamLagMs: item.ctx.lagMs,
        features: Array.from(batch.subarray(offset, offset + FEATURE_COUNT)),
      });
    }
  }
}
