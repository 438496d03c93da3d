// A small, bounded JSON scanner over untrusted bytes. It never traps: every
// byte read goes through at(), which answers -1 outside the input; nesting is
// tracked with a counter and a fixed stack (no recursion); strings are decoded
// into a fixed scratch buffer. Callers pull values one at a time and check
// `failed` after each step; the first failure wins and carries the byte offset.
// On the request path one scanner is reused (reset()) over the borrowed body,
// keys are matched in the scratch buffer (keyIs) and nothing becomes a string
// unless the caller keeps it.

import { MAX_JSON_KEY_CHARS } from '../constants';

/** What the next value is, judged from its first byte. */
export enum JsonKind {
  END = 0,
  OBJECT = 1,
  ARRAY = 2,
  STRING = 3,
  NUMBER = 4,
  BOOLEAN = 5,
  NULL = 6,
  INVALID = 7,
}

const TAB: i32 = 0x09;
const LF: i32 = 0x0a;
const CR: i32 = 0x0d;
const SPACE: i32 = 0x20;
const QUOTE: i32 = 0x22;
const PLUS: i32 = 0x2b;
const COMMA: i32 = 0x2c;
const MINUS: i32 = 0x2d;
const DOT: i32 = 0x2e;
const SLASH: i32 = 0x2f;
const DIGIT_0: i32 = 0x30;
const DIGIT_1: i32 = 0x31;
const DIGIT_9: i32 = 0x39;
const COLON: i32 = 0x3a;
const UPPER_A: i32 = 0x41;
const UPPER_E: i32 = 0x45;
const UPPER_F: i32 = 0x46;
const LBRACKET: i32 = 0x5b;
const BACKSLASH: i32 = 0x5c;
const RBRACKET: i32 = 0x5d;
const LOWER_A: i32 = 0x61;
const LOWER_B: i32 = 0x62;
const LOWER_E: i32 = 0x65;
const LOWER_F: i32 = 0x66;
const LOWER_N: i32 = 0x6e;
const LOWER_R: i32 = 0x72;
const LOWER_T: i32 = 0x74;
const LOWER_U: i32 = 0x75;
const LBRACE: i32 = 0x7b;
const RBRACE: i32 = 0x7d;
const FIRST_NON_ASCII: i32 = 0x80;
const UTF8_CONTINUATION_MASK: i32 = 0xc0;
const UTF8_CONTINUATION: i32 = 0x80;

/** Largest string the scanner decodes; longer ones are measured, flagged and skipped. */
export const MAX_DECODED_STRING_CHARS: i32 = 256;
/** Integer literals longer than this are reported as out of range without being converted. */
const MAX_INTEGER_DIGITS: i32 = 15;
/** Number literals are echoed in messages up to this many characters. */
const MAX_NUMBER_ECHO_CHARS: i32 = 24;
/** Sentinel for an integer literal too long to convert; always outside every accepted range. */
export const INTEGER_OUT_OF_RANGE: i64 = i64.MAX_VALUE;

const CONTAINER_OBJECT: u8 = 1;
const CONTAINER_ARRAY: u8 = 2;

export class JsonScanner {
  pos: i32 = 0;
  failed: bool = false;
  errorMessage: string = '';
  /** Facts about the last string returned by readString. */
  stringTooLong: bool = false;
  stringNonAscii: bool = false;
  stringChars: i32 = 0;
  /** Facts about the last number returned by readNumber. */
  numberIsInteger: bool = false;
  numberValue: i64 = 0;
  /** Where the last number's literal is (numberText() echoes it). */
  private numberStart: i32 = 0;
  private numberEnd: i32 = 0;

  /** Keeps a managed input alive while it is scanned (null for borrowed memory); read through `base`. */
  input: Uint8Array | null;
  private base: usize;
  private end: i32;
  private maxDepth: i32;
  private scratch: Uint8Array = new Uint8Array(MAX_DECODED_STRING_CHARS);
  private containers: Uint8Array;

  constructor(data: Uint8Array, maxDepth: i32) {
    this.input = data;
    this.base = data.dataStart;
    this.end = data.length;
    this.maxDepth = maxDepth > 0 ? maxDepth : 1;
    this.containers = new Uint8Array(this.maxDepth + 1);
  }

  /** Starts over on the `length` bytes at `base` (memory the caller keeps valid while scanning). */
  reset(base: usize, length: i32): void {
    this.input = null;
    this.base = base;
    this.end = length > 0 ? length : 0;
    this.pos = 0;
    this.failed = false;
    this.errorMessage = '';
    this.stringTooLong = false;
    this.stringNonAscii = false;
    this.stringChars = 0;
    this.numberIsInteger = false;
    this.numberValue = 0;
    this.numberStart = 0;
    this.numberEnd = 0;
  }

  /** The byte at i, or -1 outside the input: the one place input is read. */
  at(i: i32): i32 {
    if (<u32>i >= <u32>this.end) return -1;
    return <i32>load<u8>(this.base + <usize>i);
  }

  skipWhitespace(): void {
    // The position stays in a local while scanning (a field write per byte is what costs here).
    let pos = this.pos;
    const end = this.end;
    const base = this.base;
    while (pos < end) {
      const c = <i32>load<u8>(base + <usize>pos);
      if (c != SPACE && c != TAB && c != LF && c != CR) break;
      pos++;
    }
    this.pos = pos;
  }

  /** Records the first failure only; returns false so callers can `return this.fail(...)`. */
  fail(problem: string): bool {
    if (!this.failed) {
      this.failed = true;
      this.errorMessage = problem + ' at byte ' + this.pos.toString();
    }
    return false;
  }

  /** Fails with the message a syntax error at the current position deserves. */
  failSyntax(): bool {
    if (this.at(this.pos) < 0) return this.fail('unexpected end of JSON');
    return this.fail('not valid JSON');
  }

  atEnd(): bool {
    this.skipWhitespace();
    return this.pos >= this.end;
  }

  peekKind(): JsonKind {
    this.skipWhitespace();
    const c = this.at(this.pos);
    if (c < 0) return JsonKind.END;
    if (c == LBRACE) return JsonKind.OBJECT;
    if (c == LBRACKET) return JsonKind.ARRAY;
    if (c == QUOTE) return JsonKind.STRING;
    if (c == MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) return JsonKind.NUMBER;
    if (c == LOWER_T || c == LOWER_F) return JsonKind.BOOLEAN;
    if (c == LOWER_N) return JsonKind.NULL;
    return JsonKind.INVALID;
  }

  /** Consumes `byte` after optional whitespace; false (and no failure) when something else is next. */
  tryConsume(byte: i32): bool {
    this.skipWhitespace();
    if (this.at(this.pos) != byte) return false;
    this.pos++;
    return true;
  }

  expectColon(): bool {
    if (this.tryConsume(COLON)) return true;
    return this.failSyntax();
  }

  /** Opens an object or array: true when its first member follows, false when it was empty (or on failure). */
  openObject(): bool {
    if (!this.tryConsume(LBRACE)) return this.failSyntax();
    return !this.tryConsume(RBRACE);
  }

  openArray(): bool {
    if (!this.tryConsume(LBRACKET)) return this.failSyntax();
    return !this.tryConsume(RBRACKET);
  }

  /** After a member: true when another one follows (comma consumed), false at the closing byte or on failure. */
  nextObjectMember(): bool {
    if (this.tryConsume(COMMA)) return true;
    if (this.tryConsume(RBRACE)) return false;
    return this.failSyntax();
  }

  nextArrayElement(): bool {
    if (this.tryConsume(COMMA)) return true;
    if (this.tryConsume(RBRACKET)) return false;
    return this.failSyntax();
  }

  /**
   * Reads a string. Only ASCII characters are kept (non-ASCII ones become '?'
   * and set stringNonAscii): every string the filter uses is an identifier,
   * and identifiers are ASCII. Strings longer than maxChars set stringTooLong
   * and return their first maxChars characters.
   */
  readString(maxChars: i32): string {
    const kept = this.readStringRaw(maxChars);
    if (kept < 0) return '';
    return String.UTF8.decodeUnsafe(this.scratch.dataStart, <usize>kept);
  }

  /**
   * readString without making a string: the kept characters stay in the
   * scratch buffer (see keyIs, scratchString); returns how many, or -1 on failure.
   */
  readStringRaw(maxChars: i32): i32 {
    this.stringTooLong = false;
    this.stringNonAscii = false;
    this.stringChars = 0;
    const limit = maxChars < MAX_DECODED_STRING_CHARS ? maxChars : MAX_DECODED_STRING_CHARS;
    this.skipWhitespace();
    if (this.at(this.pos) != QUOTE) {
      this.failSyntax();
      return -1;
    }
    this.pos++;
    let kept: i32 = 0;
    while (true) {
      const c = this.at(this.pos);
      if (c < 0) {
        this.fail('unterminated string');
        return -1;
      }
      if (c == QUOTE) {
        this.pos++;
        break;
      }
      if (c < SPACE) {
        this.fail('control character in string');
        return -1;
      }
      let unit: i32 = c;
      if (c == BACKSLASH) {
        unit = this.readEscape();
        if (unit < 0) return -1;
      } else {
        this.pos++;
        // A UTF-8 continuation byte belongs to the character already counted.
        if (c >= FIRST_NON_ASCII && (c & UTF8_CONTINUATION_MASK) == UTF8_CONTINUATION) continue;
      }
      this.stringChars++;
      if (unit >= FIRST_NON_ASCII) {
        this.stringNonAscii = true;
        unit = 0x3f; // '?'
      }
      if (kept < limit) {
        store<u8>(this.scratch.dataStart + <usize>kept, <u8>unit);
        kept++;
      } else {
        this.stringTooLong = true;
      }
    }
    return kept;
  }

  /** The first `kept` characters of the last string read raw, as a string. */
  scratchString(kept: i32): string {
    return String.UTF8.decodeUnsafe(this.scratch.dataStart, <usize>kept);
  }

  /** Reads a key and its colon; keys longer than MAX_JSON_KEY_CHARS come back flagged (never a key we look for). */
  readKey(): string {
    const kept = this.readKeyRaw();
    if (kept < 0) return '';
    return this.scratchString(kept);
  }

  /** readKey without making a string: the key's length in the scratch buffer (keyIs), or -1 (failed, or too long). */
  readKeyRaw(): i32 {
    const kept = this.readStringRaw(MAX_JSON_KEY_CHARS);
    if (this.failed) return -1;
    if (!this.expectColon()) return -1;
    if (this.stringTooLong) return -1;
    return kept;
  }

  /** True when the key just read raw (`kept` characters) is `name` (ASCII). */
  keyIs(kept: i32, name: string): bool {
    if (kept != name.length) return false;
    const at = this.scratch.dataStart;
    for (let i = 0; i < kept; i++) {
      if (<i32>load<u8>(at + <usize>i) != name.charCodeAt(i)) return false;
    }
    return true;
  }

  /** Consumes one escape sequence (pos at the backslash); returns the UTF-16 unit or -1 on failure. */
  private readEscape(): i32 {
    const e = this.at(this.pos + 1);
    this.pos += 2;
    if (e == QUOTE || e == BACKSLASH || e == SLASH) return e;
    if (e == LOWER_B) return 0x08;
    if (e == LOWER_F) return 0x0c;
    if (e == LOWER_N) return LF;
    if (e == LOWER_R) return CR;
    if (e == LOWER_T) return TAB;
    if (e == LOWER_U) {
      let unit: i32 = 0;
      for (let i = 0; i < 4; i++) {
        const h = hexValue(this.at(this.pos));
        if (h < 0) {
          this.fail('bad \\u escape');
          return -1;
        }
        unit = (unit << 4) | h;
        this.pos++;
      }
      return unit;
    }
    this.pos -= 1;
    this.fail('bad escape');
    return -1;
  }

  /**
   * Reads a number. numberIsInteger is true only for integer literals (no
   * fraction or exponent); numberValue holds their value, or
   * INTEGER_OUT_OF_RANGE when longer than MAX_INTEGER_DIGITS digits.
   */
  readNumber(): bool {
    this.skipWhitespace();
    const start = this.pos;
    let negative = false;
    let value: i64 = 0;
    let digits: i32 = 0;
    let integer = true;
    if (this.at(this.pos) == MINUS) {
      negative = true;
      this.pos++;
    }
    const first = this.at(this.pos);
    if (first == DIGIT_0) {
      this.pos++;
      digits = 1;
    } else if (first >= DIGIT_1 && first <= DIGIT_9) {
      while (true) {
        const d = this.at(this.pos);
        if (d < DIGIT_0 || d > DIGIT_9) break;
        if (digits < MAX_INTEGER_DIGITS) value = value * 10 + <i64>(d - DIGIT_0);
        digits++;
        this.pos++;
      }
    } else {
      return this.failSyntax();
    }
    if (this.at(this.pos) == DOT) {
      integer = false;
      this.pos++;
      if (!this.skipDigits()) return this.failSyntax();
    }
    const e = this.at(this.pos);
    if (e == LOWER_E || e == UPPER_E) {
      integer = false;
      this.pos++;
      const sign = this.at(this.pos);
      if (sign == PLUS || sign == MINUS) this.pos++;
      if (!this.skipDigits()) return this.failSyntax();
    }
    this.numberIsInteger = integer;
    this.numberValue = digits > MAX_INTEGER_DIGITS ? INTEGER_OUT_OF_RANGE : negative ? -value : value;
    this.numberStart = start;
    this.numberEnd = this.pos;
    return true;
  }

  /** The last number's literal as written (for messages), cut at MAX_NUMBER_ECHO_CHARS. */
  numberText(): string {
    return this.echo(this.numberStart, this.numberEnd);
  }

  /** Reads `true` or `false`; returns the value (false on failure, with `failed` set). */
  readBoolean(): bool {
    this.skipWhitespace();
    if (this.skipLiteral('true')) return true;
    if (this.skipLiteral('false')) return false;
    this.failSyntax();
    return false;
  }

  /**
   * Skips one complete value of any shape, checking its syntax. `depth` is the
   * nesting the caller is already at; nesting beyond the scanner's maxDepth fails.
   */
  skipValue(depth: i32): bool {
    if (depth < 0) depth = 0;
    let level: i32 = 0;
    while (true) {
      // A value starts here.
      const kind = this.peekKind();
      if (kind == JsonKind.OBJECT || kind == JsonKind.ARRAY) {
        if (depth + level + 1 > this.maxDepth) {
          return this.fail('nested deeper than ' + this.maxDepth.toString() + ' levels');
        }
        const isObject = kind == JsonKind.OBJECT;
        const hasMembers = isObject ? this.openObject() : this.openArray();
        if (this.failed) return false;
        if (hasMembers) {
          level++;
          // level <= maxDepth (checked above) and containers holds maxDepth + 1 entries.
          store<u8>(this.containers.dataStart + <usize>level, isObject ? CONTAINER_OBJECT : CONTAINER_ARRAY);
          if (isObject) {
            this.readKeyRaw();
            if (this.failed) return false;
          }
          continue;
        }
      } else if (!this.skipScalar(kind)) {
        return false;
      }
      // A value ended here: close every container it completes.
      while (true) {
        if (level == 0) return true;
        const inObject = unchecked(this.containers[level]) == CONTAINER_OBJECT;
        const more = inObject ? this.nextObjectMember() : this.nextArrayElement();
        if (this.failed) return false;
        if (more) {
          if (inObject) {
            this.readKeyRaw();
            if (this.failed) return false;
          }
          break;
        }
        level--;
      }
    }
  }

  private skipScalar(kind: JsonKind): bool {
    if (kind == JsonKind.STRING) {
      this.readStringRaw(0);
      return !this.failed;
    }
    if (kind == JsonKind.NUMBER) return this.readNumber();
    if (kind == JsonKind.BOOLEAN) {
      if (this.skipLiteral('true') || this.skipLiteral('false')) return true;
      return this.failSyntax();
    }
    if (kind == JsonKind.NULL) {
      if (this.skipLiteral('null')) return true;
      return this.failSyntax();
    }
    return this.failSyntax();
  }

  private skipLiteral(word: string): bool {
    const n = word.length;
    for (let i = 0; i < n; i++) {
      if (this.at(this.pos + i) != word.charCodeAt(i)) return false;
    }
    this.pos += n;
    return true;
  }

  private skipDigits(): bool {
    let any = false;
    while (true) {
      const d = this.at(this.pos);
      if (d < DIGIT_0 || d > DIGIT_9) return any;
      any = true;
      this.pos++;
    }
  }

  private echo(from: i32, to: i32): string {
    const n = to - from;
    if (n <= 0 || from < 0 || to > this.end) return '';
    const shown = n > MAX_NUMBER_ECHO_CHARS ? MAX_NUMBER_ECHO_CHARS : n;
    // No ternary over managed values: AssemblyScript 0.17's reference counting mishandles them.
    if (n <= shown) return String.UTF8.decodeUnsafe(this.base + <usize>from, <usize>shown);
    return String.UTF8.decodeUnsafe(this.base + <usize>from, <usize>shown) + '...';
  }
}

function hexValue(c: i32): i32 {
  if (c >= DIGIT_0 && c <= DIGIT_9) return c - DIGIT_0;
  if (c >= LOWER_A && c <= LOWER_F) return c - LOWER_A + 10;
  if (c >= UPPER_A && c <= UPPER_F) return c - UPPER_A + 10;
  return -1;
}
