/**
 * The replay: a delivery stream (simulated world or recorded file), made
 * worse on request (duplicates, bounded reordering), paced to a rate, cut
 * into batches and written to a sink, with a progress bar on stderr.
 */

import { R } from '@mercato/features/record-layout';
import { ProgressBar, type ProgressSink } from '@mercato/platform/progress-bar';
import { type InventoryEvent, SOURCES } from '@mercato/proto/v1/inventory-event';
import type { SimulatedSource } from './delivery-sources.js';
import { type Delivery, perturbDelivery } from './perturb-delivery.js';
import { RatePacer } from './rate-pacer.js';
import type { MemoryReplaySink, ReplaySink } from './replay-sinks.js';

export interface ReplayPlan {
  deliveries: Iterable<Delivery>;
  /** Events the source delivers (before duplication): for the progress bar. */
  sourceEvents: number;
  duplicate: boolean;
  shuffleMs: number;
  shuffleShare: number;
  seed: number;
  /** Events per second; 0 = as fast as the sink takes them. */
  ratePerS: number;
  batchSize: number;
  label: string;
}

export interface ReplaySummary {
  events: number;
  durationMs: number;
  ratePerS: number;
  bySource: Record<string, number>;
}

export async function runReplay(
  plan: ReplayPlan,
  sink: ReplaySink,
  progress: ProgressSink | null = process.stderr,
): Promise<ReplaySummary> {
  const total = plan.sourceEvents * (plan.duplicate ? 2 : 1);
  const bar = progress === null ? null : new ProgressBar(plan.label, total, ' events', progress);
  const pacer = new RatePacer(plan.ratePerS);
  const bySource: Record<string, number> = Object.fromEntries(SOURCES.map((s) => [s, 0]));
  const startMs = performance.now();
  let sent = 0;
  let batch: InventoryEvent[] = [];
  const events = perturbDelivery(plan.deliveries, {
    duplicate: plan.duplicate,
    shuffleMs: plan.shuffleMs,
    shuffleShare: plan.shuffleShare,
    seed: plan.seed,
  });
  const flush = async () => {
    await pacer.take(batch.length);
    await sink.write(batch);
    sent += batch.length;
    batch = [];
    bar?.update(sent);
  };
  for (const e of events) {
    bySource[e.source] = (bySource[e.source] ?? 0) + 1;
    batch.push(e);
    if (batch.length >= plan.batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  await sink.drain();
  bar?.done('', sent);
  const durationMs = performance.now() - startMs;
  return { events: sent, durationMs, ratePerS: sent / Math.max(0.001, durationMs / 1000), bySource };
}

export interface ViewCheck {
  pairs: number;
  mismatches: string[];
}

/**
 * Compares a memory sink's state with the simulator's system view: on hand,
 * reserved and last sequence of every pair, nothing held back.
 */
export function checkAgainstSystemView(sink: MemoryReplaySink, source: SimulatedSource): ViewCheck {
  const view = source.sim.systemView();
  const state = sink.store.state;
  const mismatches: string[] = [];
  for (const [key, want] of view) {
    const rec = state.get(want.sku, want.node);
    const got =
      rec === undefined
        ? { onHand: 0, reserved: 0, lastSequence: 0 }
        : { onHand: rec[R.onHand]!, reserved: rec[R.reserved]!, lastSequence: rec[R.nextSeq]! - 1 };
    const held = state.pendingCount(want.sku, want.node);
    if (
      got.onHand !== want.onHand ||
      got.reserved !== want.reserved ||
      got.lastSequence !== want.lastSequence ||
      held > 0
    ) {
      mismatches.push(`${key}: got ${JSON.stringify({ ...got, held })}, system view ${JSON.stringify(want)}`);
    }
  }
  if (state.size !== view.size)
    mismatches.push(`${state.size} pairs in the store, ${view.size} in the system view`);
  return { pairs: view.size, mismatches };
}
