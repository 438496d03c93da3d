/**
 * Durations and points in time as people type them on the command line:
 * `--ttl 90d` (token create), `--since 24h` / `--since 2025-01-31` (audit
 * export). Refusals are INVALID_FLAG naming the flag.
 */
import { flagError } from '@mercato/platform/flags';

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800, y: 31_536_000 };

/** `<n><s|m|h|d|w|y>` (or plain seconds) as seconds, within [minS, maxS]. */
export function durationFlagS(raw: string, flag: string, minS: number, maxS: number): number {
  const m = /^(\d{1,9})([smhdwy]?)$/.exec(raw.trim());
  const seconds = m === null ? Number.NaN : Number(m[1]) * (UNIT_S[m[2] || 's'] ?? 1);
  if (!Number.isSafeInteger(seconds) || seconds < minS || seconds > maxS) {
    throw flagError(
      flag,
      `expected a duration such as 90s, 30m, 12h, 30d or 1y between ${minS} s and ${maxS} s, got "${raw}"`,
    );
  }
  return seconds;
}

/**
 * A point in time: an ISO date or date-time (`2025-01-31`, `2025-01-31T12:00:00Z`),
 * epoch milliseconds, or a duration back from `nowMs` (`24h`, `7d`).
 */
export function sinceFlagMs(raw: string, flag: string, nowMs: number): number {
  const s = raw.trim();
  if (/^\d{1,9}[smhdwy]$/.test(s)) return nowMs - durationFlagS(s, flag, 1, 100 * UNIT_S.y!) * 1000;
  if (/^\d{12,16}$/.test(s)) return Number(s);
  const ms = Date.parse(s);
  if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}/.test(s)) {
    throw flagError(
      flag,
      `expected an ISO date (2025-01-31), a date-time, epoch ms or a duration back (24h, 7d), got "${raw}"`,
    );
  }
  return ms;
}
