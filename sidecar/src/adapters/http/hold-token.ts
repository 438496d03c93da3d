/**
 * Hold tokens (issue 16 finding 6): the checkout answer carries
 * `x-atp-hold-token`, an HMAC-SHA256 of its decision id under the sidecar's
 * key; releasing (and, when sent, confirming) a hold needs it. The key is
 * shared by the sidecars of a region (`--hold-key-file`), so any of them
 * verifies a token another one issued. Verification is constant-time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { flagError } from '@mercato/platform/flags';

export const HOLD_TOKEN_HEADER = 'x-atp-hold-token';
/** Bytes of the HMAC kept in a token: 128 bits. */
export const HOLD_TOKEN_BYTES = 16;
/** Shortest key accepted from a key file. */
export const MIN_HOLD_KEY_BYTES = 32;

export class HoldTokens {
  private constructor(private readonly key: Buffer) {}

  static fromKey(key: Buffer): HoldTokens {
    if (key.length < MIN_HOLD_KEY_BYTES) throw new Error(`a hold key needs ${MIN_HOLD_KEY_BYTES}+ bytes`);
    return new HoldTokens(Buffer.from(key));
  }

  /** A key for this process only: tokens verify only on the sidecar that issued them. */
  static ephemeral(): HoldTokens {
    return new HoldTokens(randomBytes(32));
  }

  /** `--hold-key-file PATH`: the file's bytes (trailing whitespace trimmed) are the key. */
  static fromFile(path: string): HoldTokens {
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch (err) {
      throw flagError('--hold-key-file', `cannot read ${path}: ${(err as Error).message}`);
    }
    const key = Buffer.from(raw.toString('utf8').trimEnd(), 'utf8');
    if (key.length < MIN_HOLD_KEY_BYTES) {
      throw flagError('--hold-key-file', `the key must have at least ${MIN_HOLD_KEY_BYTES} bytes`);
    }
    return new HoldTokens(key);
  }

  sign(decisionId: string): string {
    return this.mac(decisionId).toString('base64url');
  }

  verify(decisionId: string, token: string): boolean {
    const given = Buffer.from(token, 'base64url');
    const want = this.mac(decisionId);
    // Length first (not secret: every token has the same length), then constant-time.
    return given.length === want.length && timingSafeEqual(given, want);
  }

  private mac(decisionId: string): Buffer {
    return createHmac('sha256', this.key).update(decisionId).digest().subarray(0, HOLD_TOKEN_BYTES);
  }
}
