/**
 * Bearer tokens: 32 random bytes, shown once at creation, stored only as
 * their sha256. A fast hash is enough because the tokens are random (no
 * dictionary to try); a slow password hash would only add latency to every
 * call. Lookups go by hash, so comparing never touches the secret itself.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'atp_';
export const TOKEN_BYTES = 32;
/** The longest Authorization header value accepted (a token is ~47 chars). */
export const MAX_TOKEN_LENGTH = 256;
/**
 * Every token expires: one created without a TTL (API, `control-plane token
 * create`, bootstrap file, or a token from before expiries existed, at the
 * schema migration) lives 90 days. A leaked token is not good forever.
 */
export const DEFAULT_TOKEN_TTL_S = 90 * 24 * 3600;

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token of an `authorization: Bearer <token>` value, or null when absent or malformed. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.length > MAX_TOKEN_LENGTH + 7) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m === null ? null : m[1]!;
}
