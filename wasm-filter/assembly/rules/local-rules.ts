// Rules the filter applies itself, from the filter snapshot, without asking
// the sidecar: compliance holds deny the basket; SKUs with a kill switch leave
// the basket (ATP is off for them, as the sidecar treats them: available).
// Holds win over kill switches, as in the sidecar's decision engine: a kill
// switch turns off prediction, not compliance. No host calls.

import { CheckoutItem } from '../request/checkout-request';

/** The first SKU of the basket under a compliance hold, or '' when none is. */
export function firstHeldSku(held: Set<string>, items: CheckoutItem[]): string {
  if (held.size == 0) return '';
  for (let i = 0; i < items.length; i++) {
    const sku = unchecked(items[i]).sku;
    if (held.has(sku)) return sku;
  }
  return '';
}

/** The basket without the SKUs whose kill switch is set (the same array when there are none). */
export function withoutKilledSkus(killed: Set<string>, items: CheckoutItem[]): CheckoutItem[] {
  if (killed.size == 0) return items;
  const kept: CheckoutItem[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = unchecked(items[i]);
    if (!killed.has(item.sku)) kept.push(item);
  }
  return kept;
}
