// What the filter settles about a whole checkout body on its own, before any
// cache or sidecar: the body's validity, the buyer zone (the body's, else the
// x-atp-buyer-zone header), then the snapshot's local rules — a held SKU
// denies, a kill switch bypasses, SKUs with a kill switch leave the basket.
// The result is either the outcome to apply now, or the zone and basket to
// ask about. No host calls.

import { MAX_BUYER_ZONE_CHARS } from '../constants';
import { RouteMode } from '../config/route-mode';
import {
  localDecisionId,
  Outcome,
  outcomeForBypass,
  outcomeForHold,
  outcomeForInvalidRequest,
  outcomeForRefusal,
} from '../decision/decision-outcome';
import { CheckoutBody, CheckoutItem } from '../request/checkout-request';
import { FilterSnapshot } from '../snapshot/filter-snapshot';
import { IDENTIFIER_RULE, isIdentifier } from '../text/identifiers';
import { firstHeldSku, withoutKilledSkus } from './local-rules';

const BUYER_ZONE_FIELD = 'buyer_zone';
/** Until the screen settles on a basket (never written to). */
const NO_ITEMS: CheckoutItem[] = [];

export class BasketScreen {
  /** The answer when the filter settles the request itself; null when the basket goes on to the cache and sidecar. */
  outcome: Outcome | null = null;
  /** The outcome is a compliance hold (counted apart). */
  hold: bool = false;
  zone: string = '';
  /** The basket to ask about: the body's items less the SKUs under a kill switch. */
  items: CheckoutItem[] = NO_ITEMS;
}

/** `killed`: the path's kill switch is set (holds still apply; anything else passes). */
export function screenBasket(
  body: CheckoutBody,
  zoneHeader: string | null,
  snapshot: FilterSnapshot | null,
  mode: RouteMode,
  killed: bool,
  requestId: string,
): BasketScreen {
  const screen = new BasketScreen();
  if (!body.valid) {
    screen.outcome = outcomeForRefusal(
      killed,
      outcomeForInvalidRequest(mode, body.errorField, body.errorMessage),
    );
    return screen;
  }
  let zone = body.buyerZone;
  if (zone.length == 0) {
    if (zoneHeader === null) {
      screen.outcome = outcomeForRefusal(
        killed,
        outcomeForInvalidRequest(mode, BUYER_ZONE_FIELD, 'expected a string, got undefined'),
      );
      return screen;
    }
    if (!isIdentifier(zoneHeader, MAX_BUYER_ZONE_CHARS)) {
      const why =
        '(from x-atp-buyer-zone) ' +
        IDENTIFIER_RULE +
        ', at most ' +
        MAX_BUYER_ZONE_CHARS.toString() +
        ' characters';
      screen.outcome = outcomeForRefusal(killed, outcomeForInvalidRequest(mode, BUYER_ZONE_FIELD, why));
      return screen;
    }
    zone = zoneHeader;
  }
  let items = body.items;
  if (snapshot !== null) {
    // Holds win over kill switches: a kill switch turns off prediction, not compliance.
    const held = firstHeldSku(snapshot.heldSkus, items);
    if (held.length > 0) {
      screen.hold = true;
      screen.outcome = outcomeForHold(mode, localDecisionId(requestId), held);
      return screen;
    }
    if (killed) {
      screen.outcome = outcomeForBypass();
      return screen;
    }
    items = withoutKilledSkus(snapshot.killedSkus, items);
    if (items.length == 0) {
      screen.outcome = outcomeForBypass();
      return screen;
    }
  } else if (killed) {
    screen.outcome = outcomeForBypass();
    return screen;
  }
  screen.zone = zone;
  screen.items = items;
  return screen;
}
