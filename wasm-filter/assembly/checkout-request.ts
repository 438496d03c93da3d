// Extracts what the ATP decision needs from a client checkout body — the
// items and, if present, the buyer zone — and nothing else: every other field
// is skipped (syntax-checked, never copied). No host calls; never traps.
// Limits and messages follow proto/v1/decision.ts (parseCheckRequest).

import {
  MAX_BUYER_ZONE_CHARS,
  MAX_CHECKOUT_ITEMS,
  MAX_ITEM_QTY,
  MAX_JSON_DEPTH,
  MAX_SKU_CHARS,
  MIN_ITEM_QTY,
} from './constants';
import { FieldReader, indexed, member, WHOLE_DOCUMENT } from './field-reader';
import { JsonKind, JsonScanner } from './json-scanner';

// Nesting of the values we descend into: { items: [ { ... } ] }.
const DEPTH_TOP_OBJECT: i32 = 1;
const DEPTH_ITEM_OBJECT: i32 = 3;

export class CheckoutItem {
  sku: string;
  qty: i32;
  constructor(sku: string, qty: i32) {
    this.sku = sku;
    this.qty = qty;
  }
}

/** The parsed body, or the first problem found (errorField is empty when valid). */
export class CheckoutBody {
  items: CheckoutItem[] = [];
  /** Empty when the body has none (the x-atp-buyer-zone header may supply it). */
  buyerZone: string = '';
  errorField: string = '';
  errorMessage: string = '';

  get valid(): bool {
    return this.errorField.length == 0;
  }
}

export function parseCheckoutBody(bytes: Uint8Array): CheckoutBody {
  const body = new CheckoutBody();
  if (bytes.length == 0) {
    body.errorField = WHOLE_DOCUMENT;
    body.errorMessage = 'empty body: expected a JSON object';
    return body;
  }
  const reader = new FieldReader(new JsonScanner(bytes, MAX_JSON_DEPTH));
  const sawItems = readTopLevel(reader, body);
  if (!reader.failed) reader.expectEnd();
  if (!reader.failed && !sawItems) reader.fail('items', 'expected an array, got undefined');
  if (reader.failed) {
    body.items = [];
    body.errorField = reader.errorField;
    body.errorMessage = reader.errorMessage;
  }
  return body;
}

/** Returns whether `items` was present. */
function readTopLevel(reader: FieldReader, body: CheckoutBody): bool {
  const sc = reader.scanner;
  if (!reader.expectKind(WHOLE_DOCUMENT, JsonKind.OBJECT, 'an object')) return false;
  if (!sc.openObject()) return false;
  let sawItems = false;
  let sawZone = false;
  while (true) {
    const key = sc.readKey();
    if (sc.failed) return sawItems;
    if (key == 'items') {
      if (!reader.once(key, sawItems)) return sawItems;
      sawItems = true;
      readItems(reader, body);
    } else if (key == 'buyer_zone') {
      if (!reader.once(key, sawZone)) return sawItems;
      sawZone = true;
      body.buyerZone = reader.identifier(key, MAX_BUYER_ZONE_CHARS);
    } else {
      sc.skipValue(DEPTH_TOP_OBJECT);
    }
    if (reader.failed) return sawItems;
    if (!sc.nextObjectMember()) return sawItems;
  }
}

function readItems(reader: FieldReader, body: CheckoutBody): void {
  const sc = reader.scanner;
  if (!reader.expectKind('items', JsonKind.ARRAY, 'an array')) return;
  if (!sc.openArray()) {
    if (!sc.failed) reader.fail('items', 'needs at least 1 element(s)');
    return;
  }
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_CHECKOUT_ITEMS) {
      reader.fail(
        'items',
        'has more than ' +
          MAX_CHECKOUT_ITEMS.toString() +
          ' elements, at most ' +
          MAX_CHECKOUT_ITEMS.toString() +
          ' allowed',
      );
      return;
    }
    readItem(reader, body, indexed('items', index));
    if (reader.failed) return;
    index++;
    if (!sc.nextArrayElement()) return;
  }
}

function readItem(reader: FieldReader, body: CheckoutBody, field: string): void {
  const sc = reader.scanner;
  if (!reader.expectKind(field, JsonKind.OBJECT, 'an object')) return;
  let sku = '';
  let qty: i64 = 0;
  let sawSku = false;
  let sawQty = false;
  if (sc.openObject()) {
    while (true) {
      const key = sc.readKey();
      if (sc.failed) return;
      if (key == 'sku') {
        if (!reader.once(member(field, key), sawSku)) return;
        sawSku = true;
        sku = reader.identifier(member(field, key), MAX_SKU_CHARS);
      } else if (key == 'qty') {
        if (!reader.once(member(field, key), sawQty)) return;
        sawQty = true;
        qty = reader.integer(member(field, key), MIN_ITEM_QTY, MAX_ITEM_QTY);
      } else {
        sc.skipValue(DEPTH_ITEM_OBJECT);
      }
      if (reader.failed) return;
      if (!sc.nextObjectMember()) break;
    }
  }
  if (sc.failed) return;
  if (!sawSku) {
    reader.fail(member(field, 'sku'), 'expected a string, got undefined');
    return;
  }
  if (!sawQty) {
    reader.fail(member(field, 'qty'), 'expected an integer, got undefined');
    return;
  }
  body.items.push(new CheckoutItem(sku, <i32>qty));
}
