/**
 * The wide-margin fallback (DESIGN.md §6 "Redis unreachable"): what an item
 * answers when the reservation store failed while the engine tried to hold
 * one of its options.
 *
 * - A store that is DOWN (refused, connection gone): nobody can hold these
 *   units right now, so a COLD SKU whose node keeps a margin of at least
 *   WIDE_MARGIN_UNITS after this order (sellable - qty) is still promised,
 *   from that option alone, with reasons ATP_OK + WIDE_MARGIN: concurrent
 *   checkouts of a cold SKU cannot eat such a margin before the feed catches up.
 * - A TIMEOUT (ours or the store client's) means the store is up but slow:
 *   other sidecars may be holding these very units, so no promise.
 * - A HOT SKU is never promised without a hold.
 * Every other case answers RESERVATION_FAILED.
 */
import type { FulfillmentOption, ItemDecision } from '@mercato/proto/v1/decision';
import { deniedItem } from '../item-decision.js';

export const WIDE_MARGIN_UNITS = 20;

/** How a reservation call failed. */
export type StoreFailure = 'timeout' | 'down';

/** Our own reservation timeout or the store client's command timeout is `timeout`; anything else `down`. */
export function storeFailure(err: unknown): StoreFailure {
  return err instanceof Error && /timed? ?out|no answer within/i.test(err.message) ? 'timeout' : 'down';
}

/**
 * The item's answer when holding `option` failed with `failure`; `sellable`
 * is the units at the option's node (ATP minus the lag buffer) as the engine
 * saw them.
 */
export function answerWithoutHold(
  item: ItemDecision,
  option: FulfillmentOption,
  sellable: number,
  failure: StoreFailure,
  hot: boolean,
): ItemDecision {
  if (failure === 'down' && !hot && sellable - item.qty >= WIDE_MARGIN_UNITS) {
    const unheld = { ...option, reasons: [...option.reasons, 'WIDE_MARGIN' as const] };
    return { ...item, options: [unheld], reasons: ['ATP_OK', 'WIDE_MARGIN'] };
  }
  return deniedItem(item, 'RESERVATION_FAILED');
}
