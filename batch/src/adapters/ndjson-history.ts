/**
 * Histories and the directory read from NDJSON files: one wire-format record
 * per line (what `npm run sim -- --out`, the world and the replay tool
 * write). A history skips and counts lines that fail their contract (the
 * ingester dead-lettered them in production); a directory file refuses the
 * whole file on the first bad line, naming line and field.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AtpError } from '@mercato/platform/errors';
import { decodeEvent } from '@mercato/proto/v1/inventory-event';
import { decodeNodeInfo, type NodeInfo } from '@mercato/proto/v1/node-directory';
import { decodeOutcome, type OrderOutcome } from '@mercato/proto/v1/order-outcome';
import { ContractError } from '@mercato/proto/v1/validate';
import { BATCH_ERR } from '../batch-errors.js';
import type { DeliveredEvent, History, SkippedRecords } from '../ports.js';

async function eachLine(path: string, onLine: (line: string, n: number) => void): Promise<void> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() !== '') onLine(line, n);
  }
}

function lineHistory<T>(path: string, decode: (line: string) => T): History<T> {
  return {
    name: path,
    async read(onRecord) {
      const skipped: SkippedRecords = { invalid: 0, firstError: null };
      await eachLine(path, (line, n) => {
        let rec: T;
        try {
          rec = decode(line);
        } catch (err) {
          if (!(err instanceof ContractError)) throw err;
          skipped.invalid++;
          skipped.firstError ??= `${path}:${n}: ${err.message}`;
          return;
        }
        onRecord(rec);
      });
      return skipped;
    },
  };
}

/**
 * Inventory events, one per line. A line may carry `delivered_at_ms` beside
 * the event's own fields (the world and `sim --out` write it): when the event
 * reached the system; without it the event time stands in (feed delay 0).
 */
export function ndjsonEventHistory(path: string): History<DeliveredEvent> {
  return lineHistory(path, (line) => {
    const event = decodeEvent(line);
    const delivered = (JSON.parse(line) as { delivered_at_ms?: unknown }).delivered_at_ms;
    const arrivalMs =
      typeof delivered === 'number' && Number.isFinite(delivered) ? delivered : event.eventTimeMs;
    return { event, arrivalMs };
  });
}

export function ndjsonOutcomeHistory(path: string): History<OrderOutcome> {
  return lineHistory(path, decodeOutcome);
}

/** The whole directory file, or an INPUT_INVALID error naming `<file>:<line>.<field>`. */
export async function readDirectoryFile(path: string): Promise<NodeInfo[]> {
  const nodes: NodeInfo[] = [];
  await eachLine(path, (line, n) => {
    try {
      nodes.push(decodeNodeInfo(line));
    } catch (err) {
      if (!(err instanceof ContractError)) throw err;
      throw new AtpError(
        BATCH_ERR.INPUT_INVALID,
        `${path}:${n}: ${err.message}`,
        `${path}:${n}.${err.field}`,
      );
    }
  });
  return nodes;
}
