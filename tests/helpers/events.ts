/** Builders for inventory events in tests: terse, valid by construction. */
import type { EventKind, InventoryEvent } from '../../proto/v1/inventory-event.js';

export const T0 = Date.UTC(2026, 0, 5);

let ids = 0;

export function ev(
  kind: EventKind,
  quantity: number,
  sequence: number,
  opts: { sku?: string; node?: string; atMs?: number; id?: string } = {},
): InventoryEvent {
  return {
    eventId: opts.id ?? `t-${++ids}`,
    sku: kind === 'heartbeat' ? '*' : (opts.sku ?? 'SKU-1'),
    node: opts.node ?? 'WH-1',
    kind,
    quantity,
    sequence,
    eventTimeMs: opts.atMs ?? T0 + sequence * 1000,
    source: (opts.node ?? 'WH-1').startsWith('SL') ? 'third-party' : 'first-party',
  };
}
