/**
 * The log of one VM: what the module wrote with proxy_log and what the
 * emulator says about it (traps, refused configuration), at or above the
 * configured level, bounded, and passed on to an optional listener. The last
 * critical line of a call is kept apart: the SDK logs an abort's reason there
 * just before the trap.
 */
import { LOG_LEVELS, type LogLevelName } from './abi.js';
import { DEFAULT_LOG_LEVEL, type LogEntry, MAX_COLLECTED_LOGS } from './vm-options.js';

/** proxy_log's critical level, the one aborts are logged at. */
export const LOG_CRITICAL = 5;

export class VmLog {
  readonly entries: LogEntry[] = [];
  /** The minimum level collected, as its ABI number. */
  readonly levelValue: number;
  /** The last critical line since the current guest call began (ProxyWasmVm.callIn saves and restores it). */
  lastCritical: string | undefined;
  private readonly onLog: ((entry: LogEntry) => void) | undefined;

  constructor(level: LogLevelName = DEFAULT_LOG_LEVEL, onLog?: (entry: LogEntry) => void) {
    this.levelValue = LOG_LEVELS.indexOf(level);
    this.onLog = onLog;
  }

  write(level: number, contextId: number, message: string): void {
    const name = LOG_LEVELS[level] ?? 'critical';
    if (level === LOG_CRITICAL) this.lastCritical = message;
    if (level < this.levelValue) return;
    const entry: LogEntry = { level: name, contextId, message };
    this.entries.push(entry);
    if (this.entries.length > MAX_COLLECTED_LOGS) {
      this.entries.splice(0, this.entries.length - MAX_COLLECTED_LOGS);
    }
    this.onLog?.(entry);
  }

  /** Entries at or above `level`. */
  atOrAbove(level: LogLevelName): LogEntry[] {
    const min = LOG_LEVELS.indexOf(level);
    return this.entries.filter((e) => LOG_LEVELS.indexOf(e.level) >= min);
  }
}
