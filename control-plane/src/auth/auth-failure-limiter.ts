/**
 * Failed authentications per source address (a token bucket each): a
 * source may fail AUTH_FAILURE_BURST times at once and then
 * AUTH_FAILURE_REFILL_PER_S times a second (each request is charged on
 * arrival, and refunded if its token authenticates). Past that, its requests are
 * answered 429 RATE_LIMITED before any token lookup, body read or audit
 * write, so a client hammering the admin API or the watch stream with bad
 * or no tokens costs almost nothing and cannot slow real changes. Only
 * failures take from the bucket: a source that authenticates is never
 * limited by its successes. A token that authenticated recently (its hash
 * remembered for GOOD_TOKEN_MEMORY_MS) is let through even from a limited
 * address, so an operator sharing an address (NAT) with a flooding client
 * keeps working; a token never seen before from there waits like the rest
 * (docs/security.md, what is left).
 */
import { createHash } from 'node:crypto';
import { bearerToken } from './tokens.js';

export const AUTH_FAILURE_BURST = 100;
export const AUTH_FAILURE_REFILL_PER_S = 20;
/** Sources tracked at once; beyond it the fullest buckets (the least suspicious) are forgotten first. */
export const MAX_TRACKED_SOURCES = 10_000;
/** How long a token that authenticated stays "known good" for the limiter. */
export const GOOD_TOKEN_MEMORY_MS = 15 * 60_000;
const MAX_GOOD_TOKENS = 10_000;

interface Bucket {
  tokens: number;
  atMs: number;
}

export class AuthFailureLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /** sha256 of tokens that authenticated -> when (insertion order = age). */
  private readonly goodTokens = new Map<string, number>();

  constructor(
    private readonly burst = AUTH_FAILURE_BURST,
    private readonly refillPerS = AUTH_FAILURE_REFILL_PER_S,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Admits one request from `source` before anything is looked up: free for
   * a token that authenticated recently, else it takes one from the
   * source's bucket (charged up front, so requests arriving together cannot
   * all slip through) and is false when the bucket is empty: refuse then.
   * A request whose token then authenticates gets its charge back
   * (`succeeded`); a failed one keeps it.
   */
  admit(source: string, authorization?: string): boolean {
    if (this.knownGood(authorization)) return true;
    let b = this.buckets.get(source);
    if (b === undefined) {
      if (this.buckets.size >= MAX_TRACKED_SOURCES) this.evict();
      b = { tokens: this.burst, atMs: this.clock() };
      this.buckets.set(source, b);
    }
    if (this.refill(b) < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** The request's token authenticated: the charge goes back and the token is remembered. */
  succeeded(source: string, authorization: string | undefined): void {
    const b = this.buckets.get(source);
    if (b !== undefined) b.tokens = Math.min(this.burst, b.tokens + 1);
    const token = bearerToken(authorization);
    if (token === null) return;
    const key = digest(token);
    this.goodTokens.delete(key);
    this.goodTokens.set(key, this.clock());
    if (this.goodTokens.size > MAX_GOOD_TOKENS) {
      const oldest = this.goodTokens.keys().next().value;
      if (oldest !== undefined) this.goodTokens.delete(oldest);
    }
  }

  private knownGood(authorization: string | undefined): boolean {
    const token = bearerToken(authorization);
    if (token === null) return false;
    const seen = this.goodTokens.get(digest(token));
    return seen !== undefined && this.clock() - seen < GOOD_TOKEN_MEMORY_MS;
  }

  /** Seconds until `source` may try again (Retry-After). */
  retryAfterS(source: string): number {
    const b = this.buckets.get(source);
    if (b === undefined) return 0;
    return Math.max(1, Math.ceil((1 - this.refill(b)) / this.refillPerS));
  }

  private refill(b: Bucket): number {
    const now = this.clock();
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.atMs) / 1000) * this.refillPerS);
    b.atMs = now;
    return b.tokens;
  }

  private evict(): void {
    for (const [source, b] of this.buckets) {
      if (this.refill(b) >= this.burst) this.buckets.delete(source);
    }
    // Still full of busy sources: drop the oldest entries (insertion order).
    for (const source of this.buckets.keys()) {
      if (this.buckets.size < MAX_TRACKED_SOURCES) break;
      this.buckets.delete(source);
    }
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The address part of a peer ("ipv4:1.2.3.4:5", "[::1]:5", "1.2.3.4:5", "::ffff:1.2.3.4"). */
export function sourceAddress(peer: string): string {
  let p = peer.replace(/^ipv[46]:/, '');
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(p);
  if (bracket !== null) p = bracket[1] ?? p;
  else if ((p.match(/:/g) ?? []).length === 1) p = p.slice(0, p.lastIndexOf(':'));
  return p.replace(/^::ffff:/, '');
}
