/**
 * Outcome-join benchmark (issue 13), against librdkafka's mock Kafka cluster
 * (kcat) started here:
 *
 *   node --import tsx bench/evaluation-join.bench.ts [--decisions N] [--runs N] [--sidecar-rps N]
 *
 * A seeded world of DECISIONS decisions (1-3 items each, outcomes for most
 * promised items, a stock truth per item) is produced once; then RUNS
 * interleaved runs each read the same topics from the same broker twice,
 * in this one Node thread (bench/lib/evaluation-join-kit.ts): a raw counting
 * consumer, then the join service on a fresh SQLite store. Reported: the
 * medians of both throughputs, the join / raw ratio (goal >= 0.5), and the
 * join's decisions/s against the decision capacity of 10 sidecars (SIDECAR_RPS
 * per sidecar, default the warm req/s of the latest sidecar row of
 * bench/RESULTS.md). Writes bench/out/evaluation-join.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startKafkaMockCluster } from '../tests/helpers/kafka-mock-cluster.js';
import { type JoinBenchRun, joinBenchRun, produceJoinWorld } from './lib/evaluation-join-kit.js';
import { median, sayer } from './lib/ingest-bench-kit.js';

/** Warm single-item checkouts/s of one sidecar: bench/RESULTS.md, "Sidecar decisions", row 2026-12-02. */
export const SIDECAR_WARM_RPS = 6_149;
const SIDECARS = 10;
const GOAL_RATIO = 0.5;
const say = sayer('join-bench');

const { values } = parseArgs({
  options: {
    decisions: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    'sidecar-rps': { type: 'string', default: String(SIDECAR_WARM_RPS) },
  },
});
const decisions = Number(values.decisions);
const runs = Number(values.runs);
const sidecarRps = Number(values['sidecar-rps']);
if (!(decisions > 0 && runs >= 1 && sidecarRps > 0))
  throw new Error('--decisions, --runs, --sidecar-rps: positive numbers');

const logger = pino({ level: 'warn' });
const cluster = await startKafkaMockCluster(1);
try {
  const w = await produceJoinWorld(cluster.brokers, 'bench-join', decisions, 1, logger);
  say(`${w.decisions} decisions, ${w.records} records produced`);
  const results: JoinBenchRun[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await joinBenchRun(cluster.brokers, w, i, logger);
    results.push(r);
    say(
      `run ${i + 1}: raw ${Math.round(r.rawRecordsPerS)} rec/s, join ${Math.round(r.joinRecordsPerS)} rec/s (x${r.ratio.toFixed(2)}), ${Math.round(r.joinDecisionsPerS)} decisions/s`,
    );
  }
  const raw = median(results.map((r) => r.rawRecordsPerS));
  const joined = median(results.map((r) => r.joinRecordsPerS));
  const decisionsPerS = median(results.map((r) => r.joinDecisionsPerS));
  const capacity = SIDECARS * sidecarRps;
  const summary = {
    decisions: w.decisions,
    records: w.records,
    runs,
    rawRecordsPerS: raw,
    joinRecordsPerS: joined,
    ratio: joined / raw,
    ratioGoal: GOAL_RATIO,
    joinDecisionsPerS: decisionsPerS,
    tenSidecarDecisionsPerS: capacity,
    shareOfTenSidecars: decisionsPerS / capacity,
    loadAverage: loadavg(),
    results,
  };
  const out = join(dirname(fileURLToPath(import.meta.url)), 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'evaluation-join.json'), `${JSON.stringify(summary, null, 2)}\n`);
  say(
    `median raw ${Math.round(raw)} rec/s, join ${Math.round(joined)} rec/s: ratio x${(joined / raw).toFixed(2)} (goal >= ${GOAL_RATIO}: ${joined / raw >= GOAL_RATIO ? 'met' : 'MISSED'}); ${Math.round(decisionsPerS)} decisions/s = x${(decisionsPerS / capacity).toFixed(3)} of ${SIDECARS} sidecars (${capacity} decisions/s); load ${loadavg()[0]?.toFixed(1)}`,
  );
} finally {
  await cluster.stop();
}
