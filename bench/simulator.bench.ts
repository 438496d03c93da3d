/**
 * Simulator throughput. Generates EVENTS events with the default world (seed
 * 1), encoding each delivered event as the CLI's --out would, median of RUNS
 * runs. Baseline, measured in the same process: a trivial loop that only
 * builds and encodes the same number of event objects, so the ratio is the
 * simulator's own overhead on top of producing the wire format.
 *
 *   node --import tsx bench/simulator.bench.ts
 *
 * Writes bench/out/simulator.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_OK } from '../platform/src/flags.js';
import { ProgressBar } from '../platform/src/progress-bar.js';
import { runMain } from '../platform/src/run-main.js';
import { encodeEvent, type InventoryEvent } from '../proto/v1/inventory-event.js';
import { DEFAULT_START_TIME_MS } from '../training/src/simulator/sim-config.js';
import { Simulator } from '../training/src/simulator/simulator.js';

const EVENTS = 1_000_000;
const RUNS = 3;
const SEED = 1;
/** Records between two progress updates: keeps the clock read off the measured loop. */
const PROGRESS_CHECK_EVERY = 8192;
/** Progress labels are padded to this width so the runs' bars line up. */
const LABEL_WIDTH = 24;
const OUT_FILE = join(dirname(fileURLToPath(import.meta.url)), 'out', 'simulator.json');

interface RunResult {
  events: number;
  seconds: number;
  eventsPerS: number;
}

/** Keeps results observable so the JIT cannot drop the encoding work. */
let sink = 0;

function runSimulator(label: string): RunResult {
  const bar = new ProgressBar(label.padEnd(LABEL_WIDTH), EVENTS, ' events');
  const t0 = performance.now();
  const sim = new Simulator({ seed: SEED, maxEvents: EVENTS });
  let events = 0;
  let n = 0;
  for (const r of sim.run()) {
    if (r.type === 'event') {
      events++;
      sink += encodeEvent(r.event).length;
    }
    if (++n % PROGRESS_CHECK_EVERY === 0) bar.update(events);
  }
  const seconds = (performance.now() - t0) / 1000;
  bar.done('', events);
  return { events, seconds, eventsPerS: events / seconds };
}

const KINDS = ['receipt', 'sale', 'reservation', 'release', 'heartbeat'] as const;

/** The floor: the same number of event objects, built with the same id scheme and encoded. */
function runBaseline(label: string): RunResult {
  const bar = new ProgressBar(label.padEnd(LABEL_WIDTH), EVENTS, ' events');
  const t0 = performance.now();
  for (let i = 1; i <= EVENTS; i++) {
    const kind = KINDS[i % KINDS.length]!;
    const e: InventoryEvent = {
      eventId: `e-${SEED}-${i}`,
      sku: kind === 'heartbeat' ? '*' : `sku-${String(1 + (i % 2000)).padStart(5, '0')}`,
      node: `wh-0${1 + (i % 8)}`,
      kind,
      quantity: kind === 'heartbeat' ? 0 : 1 + (i % 3),
      sequence: 1 + (i >> 4),
      eventTimeMs: DEFAULT_START_TIME_MS + i * 100,
      source: 'first-party',
    };
    sink += encodeEvent(e).length;
    if (i % PROGRESS_CHECK_EVERY === 0) bar.update(i);
  }
  const seconds = (performance.now() - t0) / 1000;
  bar.done();
  return { events: EVENTS, seconds, eventsPerS: EVENTS / seconds };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<number> {
  const sim: RunResult[] = [];
  const base: RunResult[] = [];
  // Interleaved, so both see the same machine state (thermal, other load).
  for (let r = 1; r <= RUNS; r++) {
    base.push(runBaseline(`baseline run ${r}/${RUNS}`));
    sim.push(runSimulator(`simulator run ${r}/${RUNS}`));
  }
  const simEps = median(sim.map((x) => x.eventsPerS));
  const baseEps = median(base.map((x) => x.eventsPerS));
  const result = {
    bench: 'simulator',
    events: EVENTS,
    runs: RUNS,
    seed: SEED,
    node: process.version,
    simulator: { medianEventsPerS: Math.round(simEps), runs: sim },
    baseline: {
      what: 'build + encode the same number of event objects',
      medianEventsPerS: Math.round(baseEps),
      runs: base,
    },
    /** Simulator throughput as a share of the build+encode floor (1 = no overhead). */
    ratio: Number((simEps / baseEps).toFixed(4)),
    /** Total encoded bytes: keeps the work observable. */
    encodedBytes: sink,
  };
  mkdirSync(dirname(OUT_FILE), { recursive: true });
  writeFileSync(OUT_FILE, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(
    `simulator: ${Math.round(simEps)} events/s (median of ${RUNS}, ${EVENTS} events, encoded)\n` +
      `baseline (build + encode only): ${Math.round(baseEps)} events/s\n` +
      `ratio simulator / baseline: ${result.ratio} (the simulator costs ${(baseEps / simEps).toFixed(1)}x the floor)\n` +
      `written to ${OUT_FILE}\n`,
  );
  return EXIT_OK;
}

runMain(import.meta.url, main);
