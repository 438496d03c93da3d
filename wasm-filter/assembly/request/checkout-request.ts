// Extracts what the ATP decision needs from a client checkout body — the
// items and, if present, the buyer zone — and nothing else: every other field
// is skipped (syntax-checked, never copied). No host calls; never traps.
// Limits and messages follow proto/v1/decision.ts (parseCheckRequest).
//
// This runs for every checkout, so it allocates only what it returns: the
// scanner is reused over the borrowed body, keys are matched without becoming
// strings, and field paths (items[3].qty) are built only for the message of a
// body that is wrong.

import {
  MAX_BUYER_ZONE_CHARS,
  MAX_CHECKOUT_ITEMS,
  MAX_ITEM_QTY,
  MAX_JSON_DEPTH,
  MAX_SKU_CHARS,
  MIN_ITEM_QTY,
} from '../constants';
import { FieldReader, indexed, member, WHOLE_DOCUMENT } from '../json/field-reader';
import { JsonKind, JsonScanner } from '../json/json-scanner';

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

const ITEMS = 'items';
const BUYER_ZONE = 'buyer_zone';
const SKU = 'sku';
const QTY = 'qty';

// One scanner and reader for every body: a worker handles one hook at a time.
const scanner = new JsonScanner(new Uint8Array(0), MAX_JSON_DEPTH);
const reader = new FieldReader(scanner);

/** Parses the `length` bytes at `base` (the borrowed body; read only during the call). */
export function parseCheckoutBody(base: usize, length: i32): CheckoutBody {
  const body = new CheckoutBody();
  if (length <= 0) {
    body.errorField = WHOLE_DOCUMENT;
    body.errorMessage = 'empty body: expected a JSON object';
    return body;
  }
  scanner.reset(base, length);
  reader.reset();
  const sawItems = readTopLevel(body);
  if (!reader.failed) reader.expectEnd();
  if (!reader.failed && !sawItems) reader.fail(ITEMS, 'expected an array, got undefined');
  if (reader.failed) {
    body.items = [];
    body.errorField = reader.errorField;
    body.errorMessage = reader.errorMessage;
  }
  return body;
}

/** Returns whether `items` was present. */
function readTopLevel(body: CheckoutBody): bool {
  const sc = scanner;
  if (!reader.expectKind(WHOLE_DOCUMENT, JsonKind.OBJECT, 'an object')) return false;
  if (!sc.openObject()) return false;
  let sawItems = false;
  let sawZone = false;
  while (true) {
    const key = sc.readKeyRaw();
    if (sc.failed) return sawItems;
    if (sc.keyIs(key, ITEMS)) {
      if (!reader.once(ITEMS, sawItems)) return sawItems;
      sawItems = true;
      readItems(body);
    } else if (sc.keyIs(key, BUYER_ZONE)) {
      if (!reader.once(BUYER_ZONE, sawZone)) return sawItems;
      sawZone = true;
      body.buyerZone = reader.identifier(BUYER_ZONE, MAX_BUYER_ZONE_CHARS);
    } else {
      sc.skipValue(DEPTH_TOP_OBJECT);
    }
    if (reader.failed) return sawItems;
    if (!sc.nextObjectMember()) return sawItems;
  }
}

function readItems(body: CheckoutBody): void {
  const sc = scanner;
  if (!reader.expectKind(ITEMS, JsonKind.ARRAY, 'an array')) return;
  if (!sc.openArray()) {
    if (!sc.failed) reader.fail(ITEMS, 'needs at least 1 element(s)');
    return;
  }
  let index: i32 = 0;
  while (true) {
    if (index >= MAX_CHECKOUT_ITEMS) {
      reader.fail(
        ITEMS,
        'has more than ' +
          MAX_CHECKOUT_ITEMS.toString() +
          ' elements, at most ' +
          MAX_CHECKOUT_ITEMS.toString() +
          ' allowed',
      );
      return;
    }
    readItem(body, index);
    if (reader.failed) return;
    index++;
    if (!sc.nextArrayElement()) return;
  }
}

function readItem(body: CheckoutBody, index: i32): void {
  const sc = scanner;
  if (!reader.expectKindValue(JsonKind.OBJECT, 'an object')) {
    reader.failAt(itemField(index));
    return;
  }
  let sku = '';
  let qty: i64 = 0;
  let sawSku = false;
  let sawQty = false;
  if (sc.openObject()) {
    while (true) {
      const key = sc.readKeyRaw();
      if (sc.failed) return;
      if (sc.keyIs(key, SKU)) {
        if (sawSku) {
          reader.fail(itemMember(index, SKU), 'appears more than once');
          return;
        }
        sawSku = true;
        sku = reader.identifierValue(MAX_SKU_CHARS);
        if (reader.problem.length > 0) reader.failAt(itemMember(index, SKU));
      } else if (sc.keyIs(key, QTY)) {
        if (sawQty) {
          reader.fail(itemMember(index, QTY), 'appears more than once');
          return;
        }
        sawQty = true;
        qty = reader.integerValue(MIN_ITEM_QTY, MAX_ITEM_QTY);
        if (reader.problem.length > 0) reader.failAt(itemMember(index, QTY));
      } else {
        sc.skipValue(DEPTH_ITEM_OBJECT);
      }
      if (reader.failed) return;
      if (!sc.nextObjectMember()) break;
    }
  }
  if (sc.failed) return;
  if (!sawSku) {
    reader.fail(itemMember(index, SKU), 'expected a string, got undefined');
    return;
  }
  if (!sawQty) {
    reader.fail(itemMember(index, QTY), 'expected an integer, got undefined');
    return;
  }
  // Holds are per (SKU, decision): a second line of the same SKU would ride on the first line's hold.
  for (let j = 0; j < body.items.length; j++) {
    if (body.items[j].sku == sku) {
      reader.fail(
        itemMember(index, SKU),
        sku + ' is already items[' + j.toString() + ']: send each SKU once, with the total quantity',
      );
      return;
    }
  }
  body.items.push(new CheckoutItem(sku, <i32>qty));
}

/** items[index], for messages. */
function itemField(index: i32): string {
  return indexed(ITEMS, index);
}

/** items[index].key, for messages. */
function itemMember(index: i32, key: string): string {
  return member(indexed(ITEMS, index), key);
}
