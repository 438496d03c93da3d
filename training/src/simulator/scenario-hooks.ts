/**
 * Scenario hooks: what a closed-loop world scenario asks of the simulated
 * world itself (training/src/world/scenarios.ts), validated here and
 * scheduled as ordinary queue items, so they take effect in time order
 * among the world's own actions:
 *
 * - a forced flash sale: one SKU's demand times `multiplier` over a window,
 *   an extra Poisson stream of checkouts beside the random flash sales;
 * - a forced feed outage: the nodes' feeds go silent over a window (no
 *   events delivered, no heartbeats), and the backlog is delivered when it
 *   ends, in emission order, as random outages do.
 *
 * Deterministic: a hook draws from the run's one PRNG only when its items
 * run (a sale's arrivals), so the stream is a pure function of the config
 * and the hooks applied; a world without hooks is the default stream, byte
 * for byte.
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import { type FlashSale, ITEM } from './sim-item.js';
import type { SimKernel } from './sim-kernel.js';

const S_PER_H = 3_600;

/** A forced flash sale, as scheduled. */
export interface ForcedFlashSale {
  sku: string;
  multiplier: number;
  fromMs: number;
  untilMs: number;
  /** Extra checkouts per hour on top of the SKU's base demand: base rate x (multiplier - 1). */
  extraPerH: number;
}

/** A forced feed outage, as scheduled. */
export interface ForcedOutage {
  nodeIds: readonly string[];
  fromMs: number;
  untilMs: number;
}

export class ScenarioHooks {
  /** Every hook applied so far, in call order. */
  readonly flashSales: ForcedFlashSale[] = [];
  readonly outages: ForcedOutage[] = [];
  private readonly skuIndex: Map<string, number>;
  private readonly nodeIndex: Map<string, number>;

  constructor(private readonly k: SimKernel) {
    this.skuIndex = new Map(k.world.skus.map((s, i) => [s.sku, i]));
    this.nodeIndex = new Map(k.world.nodes.map((n, j) => [n.nodeId, j]));
  }

  /** Schedules a forced flash sale of `sku` over [fromMs, untilMs); `earliestMs` is the simulator's present. */
  flashSale(
    sku: string,
    multiplier: number,
    fromMs: number,
    untilMs: number,
    earliestMs: number,
  ): ForcedFlashSale {
    const s = this.skuIndex.get(sku);
    if (s === undefined) throw hookError('sku', `unknown SKU ${JSON.stringify(sku)}`);
    if (!Number.isFinite(multiplier) || multiplier < 1) {
      throw hookError('multiplier', `must be a finite number >= 1, got ${multiplier}`);
    }
    checkWindow(fromMs, untilMs, earliestMs);
    const popularity = this.k.world.skus[s]?.popularity ?? 0;
    const extraPerH = this.k.config.checkoutsPerS * popularity * (multiplier - 1) * S_PER_H;
    const sale: FlashSale = { sku: s, untilMs, extraPerH, forced: true };
    this.k.at(fromMs, ITEM.FORCED_FLASH_START, s, sale);
    const forced: ForcedFlashSale = { sku, multiplier, fromMs, untilMs, extraPerH };
    this.flashSales.push(forced);
    return forced;
  }

  /** Schedules a forced outage of every node in `nodeIds` over [fromMs, untilMs). */
  outage(nodeIds: readonly string[], fromMs: number, untilMs: number, earliestMs: number): ForcedOutage {
    if (nodeIds.length === 0) throw hookError('nodeIds', 'name at least one node');
    const js = nodeIds.map((id) => {
      const j = this.nodeIndex.get(id);
      if (j === undefined) throw hookError('nodeIds', `unknown node ${JSON.stringify(id)}`);
      return j;
    });
    checkWindow(fromMs, untilMs, earliestMs);
    for (const j of js) {
      // The end item carries the window's end: the start sets it, the end checks it is still the latest.
      this.k.at(fromMs, ITEM.FORCED_OUTAGE_START, j, null, 0, untilMs);
      this.k.at(untilMs, ITEM.FORCED_OUTAGE_END, j);
    }
    const forced: ForcedOutage = { nodeIds: [...nodeIds], fromMs, untilMs };
    this.outages.push(forced);
    return forced;
  }
}

function checkWindow(fromMs: number, untilMs: number, earliestMs: number): void {
  if (!Number.isSafeInteger(fromMs)) throw hookError('fromMs', `expected epoch ms, got ${fromMs}`);
  if (!Number.isSafeInteger(untilMs)) throw hookError('untilMs', `expected epoch ms, got ${untilMs}`);
  if (fromMs < earliestMs) {
    throw hookError('fromMs', `${fromMs} is in the simulator's past (it stands at ${earliestMs})`);
  }
  if (untilMs <= fromMs) throw hookError('untilMs', `must be after fromMs ${fromMs}, got ${untilMs}`);
}

function hookError(field: string, problem: string): AtpError {
  return new AtpError(ERR.SIM_HOOK, `${field}: ${problem}`, field);
}
