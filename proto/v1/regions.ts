/**
 * Region names. Every component validates a region the same way (a name
 * that fails here is refused by name at every edge: flags, requests,
 * levers). Topic and Redis key names derive from it, so it stays short,
 * lowercase and free of separators other than `-`.
 */
import { ContractError } from './validate.js';

export const REGION_NAME_RE = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const MAX_REGION_NAME = 32;

export function parseRegionName(raw: string, field = 'region'): string {
  if (raw.length === 0 || raw.length > MAX_REGION_NAME || !REGION_NAME_RE.test(raw)) {
    throw new ContractError(
      field,
      `expected a region name (lowercase letters and digits, words joined by "-", at most ${MAX_REGION_NAME}), got "${raw.slice(0, 40)}"`,
    );
  }
  return raw;
}
