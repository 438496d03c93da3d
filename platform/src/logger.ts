/**
 * pino JSON logs. Never on the per-request path except for errors; every
 * error log carries its `code` from the error registry.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export const DEFAULT_LOG_LEVEL = 'info';

export function createLogger(
  opts: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  return pino(
    { name: opts.name ?? 'atp-sidecar', level: opts.level ?? DEFAULT_LOG_LEVEL, base: { pid: process.pid } },
    opts.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
