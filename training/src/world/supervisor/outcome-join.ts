/**
 * The world's outcome join: `atp-evaluate run` as one of the world's
 * processes, consuming the sidecars' decision stream (atp.decisions.<region>,
 * `serve --decision-stream kafka://...`) and the world's order outcomes
 * (order.outcomes.<region>) from the world's Kafka, as production runs it.
 * At the end of a run the world reads its figures (GET /v1/evaluation:
 * promise rate, oversell, reliability... per region x arm x model version)
 * into the run's report, beside the world's own ground-truth summary.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { commands } from './commands.js';
import { freePort } from './free-port.js';
import type { ManagedProcess } from './managed-process.js';
import type { WorldInfra } from './world-stack.js';

/** Wall ms the join gets after the drain to read the last decisions and outcomes. */
export const JOIN_CATCH_UP_MS = 30_000;
const POLL_MS = 1_000;
/** Polls without any counter moving after which the join is taken as caught up, whatever its watermark. */
const STABLE_POLLS = 5;

/** The part of atp.evaluation-report.v1 the world reads (the rest is kept as it came). */
export interface JoinFigures {
  watermarkMs: number;
  pendingDecisions: number;
  counters: Record<string, number>;
  totals: {
    region: string;
    arm: string;
    modelVersion: string;
    counts: Record<string, number>;
    rates: Record<string, { successes: number; trials: number; rate: number | null }>;
  }[];
}

export interface OutcomeJoin {
  process: ManagedProcess;
  url: string;
  /**
   * The join's figures once its watermark reached `untilMs` (simulated) and
   * its counters stopped moving (or they stood still for STABLE_POLLS polls),
   * or after JOIN_CATCH_UP_MS; null when it never answered.
   */
  figures(untilMs: number): Promise<JoinFigures | null>;
}

/**
 * Starts the join on the world's Kafka. `horizonMs`: an outcome counts when
 * it came within this (simulated) of its decision: the world's drain bound,
 * by which every outcome of the run is due.
 */
export async function startOutcomeJoin(infra: WorldInfra, horizonMs: number): Promise<OutcomeJoin> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = infra.spawn(
    'evaluate',
    commands.evaluate([
      'run',
      '--region',
      infra.region,
      '--db',
      join(infra.runDir, 'evaluation.sqlite'),
      '--brokers',
      infra.brokers.join(','),
      '--group-id',
      `atp-evaluate-world-${infra.region}`,
      '--horizon-ms',
      String(Math.max(1, Math.round(horizonMs))),
      '--http-port',
      String(port),
      '--http-host',
      '127.0.0.1',
      '--log-level',
      'info',
    ]),
  );
  await p.waitForHttp(`${url}/healthz`);
  return {
    process: p,
    url,
    async figures(untilMs) {
      const deadline = Date.now() + JOIN_CATCH_UP_MS;
      let last: JoinFigures | null = null;
      let lastKey = '';
      let stablePolls = 0;
      for (;;) {
        const now = await read(url);
        if (now !== null) {
          const key = JSON.stringify(now.counters);
          stablePolls = key === lastKey ? stablePolls + 1 : 0;
          // Caught up: past the live end and quiet, or quiet for a while (nothing more is coming).
          if ((now.watermarkMs >= untilMs && stablePolls >= 1) || stablePolls >= STABLE_POLLS) return now;
          last = now;
          lastKey = key;
        }
        if (Date.now() >= deadline) return last;
        await sleep(POLL_MS);
      }
    },
  };
}

async function read(url: string): Promise<JoinFigures | null> {
  try {
    const r = await fetch(`${url}/v1/evaluation`, { signal: AbortSignal.timeout(5_000) });
    if (!r.ok) return null;
    return (await r.json()) as JoinFigures;
  } catch {
    return null;
  }
}
