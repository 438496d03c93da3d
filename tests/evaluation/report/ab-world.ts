/**
 * A seeded A/B world for the report tests: a pre-period under arm `none`,
 * then a 50/50 experiment between `control` and `challenger` where the
 * challenger promises a little less and oversells much less; every item has
 * a stock truth. Built from the join tests' record builders.
 */
import { Prng } from '../../../platform/src/prng.js';
import type { DecisionEventItem } from '../../../proto/v1/decision-event.js';
import type { OutcomeStatus } from '../../../proto/v1/order-outcome.js';
import { decision, item, MIN, outcome, T0, truth, type World } from '../join/join-stream.js';

export interface ArmBehaviour {
  promise: number;
  shortPick: number;
}

export const AB_ARMS: Record<string, ArmBehaviour> = {
  none: { promise: 0.8, shortPick: 0.12 },
  control: { promise: 0.8, shortPick: 0.12 },
  challenger: { promise: 0.76, shortPick: 0.03 },
};

export function abWorld(preDecisions: number, experimentDecisions: number, seed: number): World {
  const rnd = new Prng(seed);
  const w: World = { decisions: [], outcomes: [], truths: [] };
  const nodeTypes = ['warehouse', 'store', 'seller'] as const;
  for (let i = 0; i < preDecisions + experimentDecisions; i++) {
    const arm = i < preDecisions ? 'none' : rnd.float() < 0.5 ? 'control' : 'challenger';
    const b = AB_ARMS[arm] as ArmBehaviour;
    const items: DecisionEventItem[] = [];
    const count = 1 + rnd.index(2);
    for (let k = 0; k < count; k++) {
      const promised = rnd.float() < b.promise;
      const nodeType = nodeTypes[rnd.index(nodeTypes.length)] ?? 'warehouse';
      items.push(item(`S${i}-${k}`, promised, { nodeType, hot: rnd.float() < 0.3 }));
    }
    const d = decision(`ab-${seed}-${i}`, T0 + i * 10_000, items, {
      arm,
      modelVersion: arm === 'challenger' ? 'm2' : 'm1',
      channel: rnd.float() < 0.8 ? 'checkout' : 'browse',
    });
    w.decisions.push(d);
    for (const it of items) {
      w.truths.push(truth(d, it.sku, it.promised || rnd.float() < 0.3));
      if (!it.promised) continue;
      const u = rnd.float();
      const status: OutcomeStatus =
        u < b.shortPick
          ? 'short-picked'
          : u < b.shortPick + 0.05
            ? 'cancelled-buyer'
            : u < b.shortPick + 0.08
              ? 'cancelled-seller'
              : 'fulfilled';
      w.outcomes.push(
        outcome(
          d,
          it.sku,
          status,
          d.tsMs + (1 + rnd.index(20)) * MIN,
          status === 'fulfilled' && rnd.float() < 0.9,
        ),
      );
    }
  }
  return w;
}
