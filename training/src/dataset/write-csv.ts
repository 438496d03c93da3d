/**
 * Writes a table of decision rows as CSV, so any outside tool trains on
 * exactly the rows we train on: a header of the feature names (sidecar
 * order), then `label`, then the segment columns. Floats are written with
 * the shortest text that reads back as the same float32.
 */
import { createWriteStream } from 'node:fs';
import { FEATURE_COUNT, FEATURE_NAMES } from '@mercato/features/feature-vector';
import { NODE_TYPES } from '@mercato/proto/v1/decision';
import type { DecisionRows } from './decision-rows.js';

export const LABEL_COLUMN = 'label';
/** Segment columns after the label: world seed, decision time, checkout number, candidate rank, node type, promised by the simulator's naive routing, cancellation. */
export const SEGMENT_COLUMNS = [
  'world_seed',
  'at_ms',
  'checkout',
  'rank',
  'node_type',
  'promised_by_sim',
  'cancelled_by',
] as const;
const CANCELLED_NAMES = ['', 'buyer', 'seller'] as const;
/** Lines per write call. */
const CSV_BATCH_LINES = 4_096;

export function csvHeader(): string {
  return [...FEATURE_NAMES, LABEL_COLUMN, ...SEGMENT_COLUMNS].join(',');
}

/** The CSV line of row i (no newline). */
export function csvLine(d: DecisionRows, i: number, worldSeed: number): string {
  const cells: string[] = [];
  const o = i * FEATURE_COUNT;
  for (let f = 0; f < FEATURE_COUNT; f++) cells.push(float32Text(d.x[o + f]!));
  cells.push(String(d.y[i]));
  cells.push(
    String(worldSeed),
    String(d.atMs[i]),
    String(d.checkout[i]),
    String(d.rank[i]),
    NODE_TYPES[d.nodeType[i]!] ?? String(d.nodeType[i]),
    String(d.promisedBySim[i]),
    CANCELLED_NAMES[d.cancelled[i]!] ?? '',
  );
  return cells.join(',');
}

/** Shortest decimal that parses back to the same float32 (Number's own text for float64 is longer). */
export function float32Text(v: number): string {
  if (Number.isInteger(v)) return String(v);
  for (let digits = 6; digits <= 9; digits++) {
    const s = v.toPrecision(digits);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}

/** Writes `d` to `path`; `worldSeeds[i]` names the world of row i's table when several were concatenated. */
export async function writeRowsCsv(
  path: string,
  d: DecisionRows,
  worldSeedOf: (row: number) => number,
): Promise<void> {
  const out = createWriteStream(path);
  let failure: Error | null = null;
  out.on('error', (err) => {
    failure = err;
  });
  const write = async (s: string): Promise<void> => {
    if (failure !== null) throw failure;
    if (!out.write(s)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  await write(`${csvHeader()}\n`);
  let lines: string[] = [];
  for (let i = 0; i < d.rows; i++) {
    lines.push(csvLine(d, i, worldSeedOf(i)));
    if (lines.length >= CSV_BATCH_LINES) {
      await write(`${lines.join('\n')}\n`);
      lines = [];
    }
  }
  if (lines.length > 0) await write(`${lines.join('\n')}\n`);
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}
