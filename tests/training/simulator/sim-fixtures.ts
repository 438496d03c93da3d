/**
 * Shared helpers of the simulator tests: run a simulation to the end and keep
 * its records, split by type.
 */

import type { SimConfigInput } from '../../../training/src/simulator/sim-config.js';
import type {
  SimCheckoutRecord,
  SimEventRecord,
  SimOutcomeRecord,
  SimRecord,
} from '../../../training/src/simulator/sim-record.js';
import { Simulator } from '../../../training/src/simulator/simulator.js';

export interface Collected {
  sim: Simulator;
  records: SimRecord[];
  events: SimEventRecord[];
  checkouts: SimCheckoutRecord[];
  outcomes: SimOutcomeRecord[];
}

export function collect(input: SimConfigInput): Collected {
  const sim = new Simulator(input);
  const records: SimRecord[] = [];
  const events: SimEventRecord[] = [];
  const checkouts: SimCheckoutRecord[] = [];
  const outcomes: SimOutcomeRecord[] = [];
  for (const r of sim.run()) {
    records.push(r);
    if (r.type === 'event') events.push(r);
    else if (r.type === 'checkout') checkouts.push(r);
    else if (r.type === 'outcome') outcomes.push(r);
  }
  return { sim, records, events, checkouts, outcomes };
}

/** Whether node `j` takes no order at `atMs` because of its blackout hours. */
export function inBlackout(blackout: [number, number] | null, atMs: number): boolean {
  if (blackout === null) return false;
  const hour = Math.floor((atMs % 86_400_000) / 3_600_000);
  return blackout[0] <= blackout[1]
    ? hour >= blackout[0] && hour < blackout[1]
    : hour >= blackout[0] || hour < blackout[1];
}
