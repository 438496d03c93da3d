/**
 * The 32-bit key of a (sku, node) record, for counting distinct records in a
 * drift window (sidecar/src/drift/drift-monitor.ts): repeated reads of one
 * record are not independent rows of the served distribution.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a over the UTF-16 code units of both names with a separator. A
 * collision only undercounts records (a more cautious threshold).
 */
export function driftRecordKey(sku: string, node: string): number {
  let h = FNV_OFFSET_BASIS;
  for (let i = 0; i < sku.length; i++) h = Math.imul(h ^ sku.charCodeAt(i), FNV_PRIME);
  h = Math.imul(h ^ 0x1f, FNV_PRIME);
  for (let i = 0; i < node.length; i++) h = Math.imul(h ^ node.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}
