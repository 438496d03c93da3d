// Typed field reads on top of JsonScanner, reporting the first problem as
// (field, message) in the words of proto/v1/validate.ts, so a client sees the
// same complaint from the filter as it would from the sidecar. A syntax error
// is reported against the whole document, field "$".

import { IDENTIFIER_RULE, isIdentifier } from './identifiers';
import { describeKind, JsonKind, JsonScanner } from './json-scanner';

export const WHOLE_DOCUMENT = '$';

export class FieldReader {
  scanner: JsonScanner;
  private badField: string = '';
  private badMessage: string = '';

  constructor(scanner: JsonScanner) {
    this.scanner = scanner;
  }

  get failed(): bool {
    return this.badField.length > 0 || this.scanner.failed;
  }

  get errorField(): string {
    if (this.badField.length > 0) return this.badField;
    return WHOLE_DOCUMENT;
  }

  get errorMessage(): string {
    if (this.badField.length > 0) return this.badMessage;
    return this.scanner.errorMessage;
  }

  /** Records the first problem; returns false so callers can `return reader.fail(...)`. */
  fail(field: string, message: string): bool {
    if (!this.failed) {
      if (field.length > 0) this.badField = field;
      else this.badField = WHOLE_DOCUMENT;
      this.badMessage = message;
    }
    return false;
  }

  /** Fails unless the next value is of `kind`; `expected` names the type in the message. */
  expectKind(field: string, kind: JsonKind, expected: string): bool {
    const actual = this.scanner.peekKind();
    if (actual == kind) return true;
    if (actual == JsonKind.END || actual == JsonKind.INVALID) return this.scanner.failSyntax();
    return this.fail(field, 'expected ' + expected + ', got ' + describeKind(actual));
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
    if (this.scanner.stringNonAscii || !isIdentifier(s, maxChars)) {
      this.fail(field, IDENTIFIER_RULE);
      return '';
    }
    return s;
  }

  /** An integer literal within [min, max]. */
  integer(field: string, min: i64, max: i64): i64 {
    if (!this.expectKind(field, JsonKind.NUMBER, 'an integer')) return 0;
    if (!this.scanner.readNumber()) return 0;
    if (!this.scanner.numberIsInteger) {
      this.fail(field, 'expected an integer, got ' + this.scanner.numberText);
      return 0;
    }
    const v = this.scanner.numberValue;
    if (v < min || v > max) {
      this.fail(
        field,
        'must be between ' + min.toString() + ' and ' + max.toString() + ', got ' + this.scanner.numberText,
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
