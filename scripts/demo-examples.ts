/**
 * The examples `npm start` prints, chosen from the simulated world once the
 * warm-up is in the feature store: the sidecar itself is asked (in-process,
 * the same engine the printed curls reach) what a buyer zone can get now.
 *
 * - in stock: allowed at checkout, with the most conservative units (p10)
 *   among the most popular SKUs of the busiest zones, so the live world's
 *   sales do not flip it in the minutes after start;
 * - short: a SKU of the world with little stock, asked for more units than
 *   any node holds (denied for lack of stock; the world's boot stock leaves
 *   no SKU sold out within the warm-up);
 * - not serviceable: a SKU stocked only by nodes that do not ship to the zone
 *   (null when the probed SKUs have none);
 * - unknown: a SKU name the world does not sell.
 *
 * Probing a checkout holds a unit when it is allowed; the hold is released at
 * once, so choosing leaves no trace in the store.
 */
import type { CheckRequest, CheckResponse, ItemDecision, Reason } from '../proto/v1/decision.js';
import type { World } from '../training/src/simulator/index.js';

/** SKUs probed per zone, most popular first. */
export const PROBE_SKUS = 400;
/**
 * SKUs per probe: small browse batches keep each ranking well inside the
 * sidecar's inference budget (a 100-SKU batch of this world is ~3 000 rows and
 * exceeds it, which would open the model's circuit breaker at start).
 */
export const PROBE_BATCH_SKUS = 8;
/** Busiest zones probed. */
export const PROBE_ZONES = 4;
/** An in-stock example needs at least this many conservative units (p10). */
export const MIN_EXAMPLE_UNITS_P10 = 3;
/** Units the short example asks for: the most a checkout item may ask (MAX_ITEM_QTY). */
export const SHORT_EXAMPLE_QTY = 1_000;

export interface DecisionService {
  check(req: CheckRequest): Promise<CheckResponse>;
}

export interface HoldReleaser {
  release(sku: string, holdId: string): Promise<unknown>;
}

/** One example: what to ask (zone, SKU, units) and what the sidecar answered at start. */
export interface DemoExample {
  zone: string;
  sku: string;
  qty: number;
  decision: 'allow' | 'deny';
  /** The item's reasons at start. */
  reasons: Reason[];
  /** Best option's node at start (allowed examples). */
  node: string | null;
  unitsP10: number;
}

/** A product-page question (browse batch) and the sidecar's answer per item at start. */
export interface BrowseExample {
  zone: string;
  items: { sku: string; qty: number; available: boolean; reasons: Reason[] }[];
}

export interface DemoExamples {
  inStock: DemoExample;
  short: DemoExample;
  notServiceable: DemoExample | null;
  unknown: DemoExample;
  browse: BrowseExample;
}

type Ask = (
  zone: string,
  channel: 'checkout' | 'browse',
  items: [string, number][],
) => Promise<CheckResponse>;

export async function chooseExamples(
  region: string,
  world: World,
  service: DecisionService,
  holds: HoldReleaser,
): Promise<DemoExamples> {
  const skus = [...world.skus]
    .sort((a, b) => b.popularity - a.popularity || (a.sku < b.sku ? -1 : 1))
    .slice(0, PROBE_SKUS)
    .map((s) => s.sku);
  const zones = world.zones
    .map((zone, i) => ({ zone, weight: world.zoneWeights[i] ?? 0 }))
    .sort((a, b) => b.weight - a.weight)
    .slice(0, PROBE_ZONES)
    .map((z) => z.zone);
  let n = 0;
  const ask: Ask = (zone, channel, items) =>
    service.check({
      requestId: `mesh-probe-${++n}`,
      region,
      buyerZone: zone,
      channel,
      items: items.map(([sku, qty]) => ({ sku, qty })),
    });

  let most: { zone: string; item: ItemDecision } | null = null;
  let least: { zone: string; item: ItemDecision } | null = null;
  let unserved: { zone: string; sku: string } | null = null;
  for (const zone of zones) {
    for (let i = 0; i < skus.length; i += PROBE_BATCH_SKUS) {
      const batch = skus.slice(i, i + PROBE_BATCH_SKUS).map((s): [string, number] => [s, 1]);
      for (const item of (await ask(zone, 'browse', batch)).items) {
        if (item.available && item.options.length > 0 && item.unitsP10 >= MIN_EXAMPLE_UNITS_P10) {
          if (most === null || item.unitsP10 > most.item.unitsP10) most = { zone, item };
        }
        if (item.available && (least === null || item.unitsP10 < least.item.unitsP10)) least = { zone, item };
        if (unserved === null && item.reasons.includes('NOT_SERVICEABLE')) unserved = { zone, sku: item.sku };
      }
    }
  }
  if (most === null || least === null) {
    throw new Error(`no SKU of the simulated world is in stock in zones ${zones.join(', ')}`);
  }
  const inStock = await atCheckout(ask, most.zone, most.item.sku, 1, holds);
  if (inStock.decision !== 'allow' || inStock.node === null) {
    throw new Error(`${inStock.sku} shows in stock in ${inStock.zone} but its checkout was denied`);
  }
  const short = await atCheckout(ask, least.zone, least.item.sku, SHORT_EXAMPLE_QTY, holds);
  const notServiceable =
    unserved === null ? null : await atCheckout(ask, unserved.zone, unserved.sku, 1, holds);
  const unknown = await atCheckout(ask, inStock.zone, unusedSkuName(world), 1, holds);
  for (const e of [short, notServiceable, unknown]) {
    if (e !== null && e.decision !== 'deny') {
      throw new Error(`${e.qty} x ${e.sku} in ${e.zone} was expected to be denied at checkout`);
    }
  }
  const asked = [inStock, short, unknown].map((e): [string, number] => [e.sku, e.qty]);
  const answer = await ask(inStock.zone, 'browse', asked);
  const browse: BrowseExample = {
    zone: inStock.zone,
    items: answer.items.map((it) => ({
      sku: it.sku,
      qty: it.qty,
      available: it.available,
      reasons: it.reasons,
    })),
  };
  return { inStock, short, notServiceable, unknown, browse };
}

/** One item asked at checkout as the curl will ask it; an allow's hold is released at once. */
async function atCheckout(
  ask: Ask,
  zone: string,
  sku: string,
  qty: number,
  holds: HoldReleaser,
): Promise<DemoExample> {
  const r = await ask(zone, 'checkout', [[sku, qty]]);
  const item = r.items[0];
  if (r.decision === 'allow') await holds.release(sku, r.decisionId);
  return {
    zone,
    sku,
    qty,
    decision: r.decision,
    reasons: item?.reasons ?? [],
    node: item?.options[0]?.nodeId ?? null,
    unitsP10: item?.unitsP10 ?? 0,
  };
}

/** The name the world's next SKU would have (same width): a SKU nobody sells. */
function unusedSkuName(world: World): string {
  const names = new Set(world.skus.map((s) => s.sku));
  const width = (world.skus[0]?.sku.length ?? 9) - 'sku-'.length;
  for (let i = world.skus.length + 1; ; i++) {
    const name = `sku-${String(i).padStart(width, '0')}`;
    if (!names.has(name)) return name;
  }
}
