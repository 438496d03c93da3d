/** A three-node world for sidecar tests: one node of each type around zone Z1-1. */
import type { NodeInfo } from '../../features/src/node-profile.js';
import { createSidecar, type Sidecar, type SidecarConfig } from '../../sidecar/src/sidecar.js';
import { ev, T0 } from './events.js';

export const TINY_NODES: NodeInfo[] = [
  {
    nodeId: 'WH-1',
    nodeType: 'warehouse',
    region: 'eu-west',
    zone: 'Z0-0',
    handlingHours: 4,
    baseCost: 4,
    serviceRadius: 4,
    dailyOrderCap: 0,
    blackoutHoursUtc: null,
  },
  {
    nodeId: 'ST-1',
    nodeType: 'store',
    region: 'eu-west',
    zone: 'Z1-1',
    handlingHours: 1,
    baseCost: 3,
    serviceRadius: 1,
    dailyOrderCap: 0,
    blackoutHoursUtc: null,
  },
  {
    nodeId: 'SL-1',
    nodeType: 'seller',
    region: 'eu-west',
    zone: 'Z3-3',
    handlingHours: 24,
    baseCost: 5,
    serviceRadius: 4,
    dailyOrderCap: 0,
    blackoutHoursUtc: null,
  },
];

/** A sidecar whose clock stands at T0 + 60 s, fed with: IN-STOCK (plenty everywhere), LOW (1 unit at the store), OUT (0). */
export function tinySidecar(extra: Partial<SidecarConfig> = {}): Sidecar {
  const now = T0 + 60_000;
  const sc = createSidecar({ region: 'eu-west', clock: () => now, ...extra });
  for (const n of TINY_NODES) sc.directory.upsert(n);
  for (const n of TINY_NODES) {
    sc.features.apply(ev('heartbeat', 0, 1, { node: n.nodeId, atMs: now - 5_000 }));
    sc.features.apply(ev('receipt', 50, 1, { sku: 'IN-STOCK', node: n.nodeId, atMs: T0 }));
  }
  sc.features.apply(ev('receipt', 1, 1, { sku: 'LOW', node: 'ST-1', atMs: T0 }));
  sc.features.apply(ev('receipt', 5, 1, { sku: 'OUT', node: 'WH-1', atMs: T0 }));
  sc.features.apply(ev('sale', 5, 2, { sku: 'OUT', node: 'WH-1', atMs: T0 + 1000 }));
  return sc;
}
