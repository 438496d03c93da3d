/**
 * Computes the batch node features of a region from a window of history
 * (delivered inventory events and order outcomes) with the one definition
 * the dataset builder and the local mesh use (NodeBatchAccumulator in
 * @mercato/features), and publishes them as a new version.
 */
import { NodeBatchAccumulator } from '@mercato/features/node-batch-features';
import { AtpError } from '@mercato/platform/errors';
import { type BatchFeatureSet, encodeBatchFeatures } from '@mercato/proto/v1/node-directory';
import { BATCH_ERR } from './batch-errors.js';
import { setVersion } from './batch-version.js';
import type { EventHistory, NodeSetPublisher, OutcomeHistory, SkippedRecords } from './ports.js';

/** A week of history by default: enough cycle counts and cancellations per node for stable shares. */
export const DEFAULT_WINDOW_MS = 7 * 24 * 3_600_000;

export interface FeaturesJobInput {
  region: string;
  events: EventHistory;
  outcomes: OutcomeHistory | null;
  /** End of the window (ms); history after it is ignored. */
  nowMs: number;
  windowMs: number;
}

export interface FeaturesJobResult {
  version: string;
  nodes: number;
  eventsUsed: number;
  outcomesUsed: number;
  skipped: { events: SkippedRecords; outcomes: SkippedRecords | null };
}

export async function runFeaturesJob(
  input: FeaturesJobInput,
  publisher: NodeSetPublisher,
): Promise<FeaturesJobResult> {
  const startMs = input.nowMs - input.windowMs;
  const acc = new NodeBatchAccumulator();
  let eventsUsed = 0;
  let outcomesUsed = 0;
  const skippedEvents = await input.events.read(({ event, arrivalMs }) => {
    if (event.eventTimeMs < startMs || event.eventTimeMs > input.nowMs) return;
    acc.observe(event, arrivalMs);
    eventsUsed++;
  });
  const skippedOutcomes =
    input.outcomes === null
      ? null
      : await input.outcomes.read((o) => {
          if (o.resolvedAtMs < startMs || o.resolvedAtMs > input.nowMs) return;
          acc.observeOutcome(o);
          outcomesUsed++;
        });
  if (eventsUsed === 0) {
    throw new AtpError(
      BATCH_ERR.EMPTY_WINDOW,
      `no events of ${input.events.name} fall in the window ending ${new Date(input.nowMs).toISOString()}`,
    );
  }
  const nodes = acc.result();
  const content = [...nodes].map(([node, f]) => encodeBatchFeatures(node, f)).join('\n');
  const set: BatchFeatureSet = {
    version: setVersion(input.nowMs, content),
    region: input.region,
    computedAtMs: input.nowMs,
    windowStartMs: startMs,
    windowEndMs: input.nowMs,
    nodes,
  };
  try {
    await publisher.publishBatch(set);
  } catch (err) {
    throw new AtpError(BATCH_ERR.PUBLISH_FAILED, (err as Error).message, undefined, { cause: err });
  }
  return {
    version: set.version,
    nodes: nodes.size,
    eventsUsed,
    outcomesUsed,
    skipped: { events: skippedEvents, outcomes: skippedOutcomes },
  };
}
