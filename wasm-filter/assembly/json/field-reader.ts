// Typed field reads on top of JsonScanner, reporting the first problem as
// (field, message) in the words of proto/v1/validate.ts, so a client sees the
// same complaint from the filter as it would from the sidecar. A syntax error
// is reported against the whole document, field "$".
//
// Each read comes in two forms: `identifier(field, ...)` names the field up
// front; `identifierValue(...)` leaves the problem in `problem` for the caller
// to pin on a field with failAt() — so the request path builds a field path
// such as items[3].sku only when something is wrong with it.

import { IDENTIFIER_RULE, isIdentifier } from '../text/identifiers';
import { JsonKind, JsonScanner } from './json-scanner';

export const WHOLE_DOCUMENT = '$';

export class FieldReader {
  scanner: JsonScanner;
  /** What was wrong with the last *Value read ('' when nothing was): not yet recorded against a field. */
  problem: string = '';
  private badField: string = '';
  private badMessage: string = '';
  /** A field problem was recorded (kept as a flag: checked after every value, it must be cheap). */
  private bad: bool = false;

  constructor(scanner: JsonScanner) {
    this.scanner = scanner;
  }

  /** Starts over (the scanner is reset by its owner). */
  reset(): void {
    this.problem = '';
    this.badField = '';
    this.badMessage = '';
    this.bad = false;
  }

  get failed(): bool {
    return this.bad || this.scanner.failed;
  }

  get errorField(): string {
    if (this.bad) return this.badField;
    return WHOLE_DOCUMENT;
  }

  get errorMessage(): string {
    if (this.bad) return this.badMessage;
    return this.scanner.errorMessage;
  }

  /** Records the first problem; returns false so callers can `return reader.fail(...)`. */
  fail(field: string, message: string): bool {
    if (!this.failed) {
      if (field.length > 0) this.badField = field;
      else this.badField = WHOLE_DOCUMENT;
      this.badMessage = message;
      this.bad = true;
    }
    return false;
  }

  /** Records the pending problem against `field` (a scanner failure stays the whole document's). */
  failAt(field: string): bool {
    if (this.problem.length > 0) {
      this.fail(field, this.problem);
      this.problem = '';
    }
    return false;
  }

  /** Fails unless the next value is of `kind`; `expected` names the type in the message. */
  expectKind(field: string, kind: JsonKind, expected: string): bool {
    if (this.expectKindValue(kind, expected)) return true;
    return this.failAt(field);
  }

  /** expectKind, the problem left pending. */
  expectKindValue(kind: JsonKind, expected: string): bool {
    const actual = this.scanner.peekKind();
    if (actual == kind) return true;
    if (actual == JsonKind.END || actual == JsonKind.INVALID) return this.scanner.failSyntax();
    return this.problemIs('expected ' + expected + ', got ' + describeKind(actual));
  }

  /** A non-empty ASCII string of at most maxChars printable characters (no control characters). */
  printableString(field: string, maxChars: i32): string {
    if (!this.expectKind(field, JsonKind.STRING, 'a string')) return '';
    const s = this.scanner.readString(maxChars);
    if (this.scanner.failed) return '';
    if (this.scanner.stringChars == 0) {
      this.fail(field, 'must not be empty');
      return '';
    }
    if (this.scanner.stringTooLong) {
      this.fail(field, 'longer than ' + maxChars.toString() + ' characters');
      return '';
    }
    if (this.scanner.stringNonAscii || !isPrintableAscii(s)) {
      this.fail(field, 'must be printable ASCII');
      return '';
    }
    return s;
  }

  /** A string matching the identifier rule, at most maxChars characters. */
  identifier(field: string, maxChars: i32): string {
    const s = this.identifierValue(maxChars);
    if (this.problem.length > 0) this.failAt(field);
    return s;
  }

  /** identifier, the problem left pending ('' returned then). */
  identifierValue(maxChars: i32): string {
    if (!this.expectKindValue(JsonKind.STRING, 'a string')) return '';
    const s = this.scanner.readString(maxChars);
    if (this.scanner.failed) return '';
    if (this.scanner.stringChars == 0) {
      this.problemIs('must not be empty');
      return '';
    }
    if (this.scanner.stringTooLong) {
      this.problemIs('longer than ' + maxChars.toString() + ' characters');
      return '';
    }
    if (this.scanner.stringNonAscii || !isIdentifier(s, maxChars)) {
      this.problemIs(IDENTIFIER_RULE);
      return '';
    }
    return s;
  }

  /** An integer literal within [min, max]. */
  integer(field: string, min: i64, max: i64): i64 {
    const v = this.integerValue(min, max);
    if (this.problem.length > 0) this.failAt(field);
    return v;
  }

  /** integer, the problem left pending (0 returned then). */
  integerValue(min: i64, max: i64): i64 {
    if (!this.expectKindValue(JsonKind.NUMBER, 'an integer')) return 0;
    if (!this.scanner.readNumber()) return 0;
    if (!this.scanner.numberIsInteger) {
      this.problemIs('expected an integer, got ' + this.scanner.numberText());
      return 0;
    }
    const v = this.scanner.numberValue;
    if (v < min || v > max) {
      this.problemIs(
        'must be between ' + min.toString() + ' and ' + max.toString() + ', got ' + this.scanner.numberText(),
      );
      return 0;
    }
    return v;
  }

  /** A JSON boolean. */
  boolean(field: string): bool {
    if (!this.expectKind(field, JsonKind.BOOLEAN, 'a boolean')) return false;
    return this.scanner.readBoolean();
  }

  /** Fails when a key appears twice: duplicates are ambiguous and parsers disagree on them. */
  once(field: string, seen: bool): bool {
    if (seen) return this.fail(field, 'appears more than once');
    return true;
  }

  /** After the top-level value: only whitespace may follow. */
  expectEnd(): bool {
    if (this.scanner.atEnd()) return true;
    return this.scanner.fail('unexpected data after the JSON value');
  }

  private problemIs(message: string): bool {
    // The first problem wins, as with fail().
    if (this.problem.length == 0 && !this.failed) this.problem = message;
    return false;
  }
}

function isPrintableAscii(s: string): bool {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** `prefix[index]`, e.g. items[3]. */
export function indexed(prefix: string, index: i32): string {
  return prefix + '[' + index.toString() + ']';
}

/** `prefix.key`, or `key` at the top level — the field paths of proto/v1/validate.ts. */
export function member(prefix: string, key: string): string {
  if (prefix.length == 0) return key;
  return prefix + '.' + key;
}

/** How a value of this kind is described in messages, in the words of proto/v1/validate.ts. */
export function describeKind(kind: JsonKind): string {
  if (kind == JsonKind.OBJECT) return 'an object';
  if (kind == JsonKind.ARRAY) return 'an array';
  if (kind == JsonKind.STRING) return 'a string';
  if (kind == JsonKind.NUMBER) return 'a number';
  if (kind == JsonKind.BOOLEAN) return 'boolean';
  if (kind == JsonKind.NULL) return 'null';
  return 'undefined';
}
