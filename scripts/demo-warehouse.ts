/**
 * A fixed demo warehouse (one in-stock and one sold-out SKU) for tests that
 * need a tiny deterministic world beside the filter (tests/control-plane's
 * mesh world). `npm start` no longer uses it: it serves the simulated world.
 */
import type { NodeInfo } from '../features/src/node-profile.js';

export const DEMO_REGION = 'eu-west';
/** A first-party warehouse that serves every zone and holds the two demo SKUs. */
export const DEMO_NODE: NodeInfo = {
  nodeId: 'WH-DEMO',
  nodeType: 'warehouse',
  region: DEMO_REGION,
  zone: 'Z2-2',
  handlingHours: 2,
  baseCost: 4,
  serviceRadius: 10,
  dailyOrderCap: 0,
  blackoutHoursUtc: null,
};
export const DEMO_IN_STOCK_SKU = 'DEMO-INSTOCK';
export const DEMO_SOLD_OUT_SKU = 'DEMO-SOLDOUT';
export const DEMO_ZONE = 'Z2-2';
