/**
 * Where a replay's events come from, as deliveries in delivery order:
 * a simulated world (the simulator's `run()`, events only) or a recorded
 * NDJSON file of wire events, one per line (what `sim-cli --out` writes and
 * `kcat -C -f '%s\n'` dumps). File lines are decoded at the edge: a bad line
 * stops the replay with its line number.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { AtpError } from '@mercato/platform/errors';
import { decodeEvent } from '@mercato/proto/v1/inventory-event';
import { ContractError } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';
import type { SimConfigInput } from '../simulator/sim-config.js';
import { Simulator } from '../simulator/simulator.js';
import type { Delivery } from './perturb-delivery.js';

const READ_CHUNK_BYTES = 1 << 20;

export interface SimulatedSource {
  sim: Simulator;
  /** Events the world emits (every one is delivered once before perturbation). */
  total: number;
  deliveries(): Generator<Delivery>;
}

export function simulatedSource(input: SimConfigInput & { maxEvents: number }): SimulatedSource {
  const sim = new Simulator(input);
  return {
    sim,
    total: input.maxEvents,
    *deliveries() {
      for (const r of sim.run()) if (r.type === 'event') yield { deliverAtMs: r.deliverAtMs, event: r.event };
    },
  };
}

export interface FileSource {
  total: number;
  deliveries(): Generator<Delivery>;
}

/**
 * A recorded file, assumed in delivery order. Its delivery times are not
 * recorded, so each line's is the newest event time seen so far: never
 * before the event itself and never decreasing, which is all the
 * perturbation needs.
 */
export function fileSource(path: string): FileSource {
  let total = 0;
  for (const line of lines(path)) if (line.text.trim() !== '') total++;
  return {
    total,
    *deliveries() {
      let clockMs = 0;
      for (const { text, number } of lines(path)) {
        if (text.trim() === '') continue;
        try {
          const event = decodeEvent(text);
          if (event.eventTimeMs > clockMs) clockMs = event.eventTimeMs;
          yield { deliverAtMs: clockMs, event };
        } catch (err) {
          if (err instanceof ContractError) {
            throw new AtpError(ERR.REPLAY_BAD_LINE, `line ${number}: ${err.message}`, err.field, {
              cause: err,
            });
          }
          throw err;
        }
      }
    },
  };
}

/** Lines of a file, read in 1 MiB chunks (files of millions of events do not fit a string). */
function* lines(path: string): Generator<{ text: string; number: number }> {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    // Keeps a multi-byte character split across two chunks whole.
    const utf8 = new StringDecoder('utf8');
    let carry = '';
    let number = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, READ_CHUNK_BYTES, null);
      if (n === 0) break;
      const text = carry + utf8.write(buf.subarray(0, n));
      const parts = text.split('\n');
      carry = parts.pop()!;
      for (const p of parts) yield { text: p, number: ++number };
    }
    carry += utf8.end();
    if (carry !== '') yield { text: carry, number: ++number };
  } finally {
    closeSync(fd);
  }
}
