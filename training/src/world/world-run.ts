/**
 * One closed-loop world run with every real process (issue 12): the
 * composition the `world` CLI and the closed-loop test share.
 *
 * 1. Infrastructure: Kafka (mock cluster), Redis, the control plane with
 *    the committed bundle pushed and promoted (supervisor/world-stack.ts);
 *    the world's order service (the upstream behind the data planes).
 * 2. Warm-up: the driver fast-forwards the first hours under the
 *    simulator's naive routing; events go to Kafka (and events.ndjson),
 *    outcomes to their topic (and outcomes.ndjson); a warm-up ingester on
 *    the wall clock applies them meanwhile (the mock cluster keeps only a
 *    partition's newest megabytes) until Redis equals the warm-up's view,
 *    then commits and stops.
 * 3. The batch job publishes the world's node directory and the batch
 *    node features computed from the warm-up's history.
 * 4. The world clock is fixed: the live phase starts START_ALLOWANCE after
 *    now; the ingester, the sidecars (their model from the control plane)
 *    and the data planes start on it (supervisor/world-services.ts); the
 *    live ingester resumes from the warm-up's committed offsets. The run
 *    waits until the clock reaches the live phase.
 * 5. Live and drain: checkouts through the data planes, answers applied to
 *    the world, its events and outcomes back through Kafka; the scenario's
 *    faults injected on time (supervisor/scenario-faults.ts).
 * 6. Audit: Redis must equal the world's delivered view; the sidecars'
 *    degradation counters are scraped; reports are written.
 *
 * Every process is stopped at the end, on error, and when `signal` aborts.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Clock, formatWorldClock, systemClock, worldClock } from '@mercato/platform/clock';
import { AtpError } from '@mercato/platform/errors';
import { encodeNodeInfo } from '@mercato/proto/v1/node-directory';
import { ERR } from '../errors.js';
import { resolveSimConfig } from '../simulator/sim-config.js';
import { DataPlaneRouter, DEFAULT_CHECKOUT_PATH, type RouterStats } from './adapters/data-plane-router.js';
import { KafkaEventSink } from './adapters/kafka-event-sink.js';
import { KafkaOutcomeSink } from './adapters/kafka-outcome-sink.js';
import {
  AB_REPORT_HTML,
  AB_REPORT_JSON,
  type AbSummary,
  abReport,
  startAbExperiment,
} from './supervisor/ab-experiment.js';
import { freePort } from './supervisor/free-port.js';
import { type OrderService, sidecarHoldConfirmer, startOrderService } from './supervisor/order-service.js';
import { type JoinFigures, startOutcomeJoin } from './supervisor/outcome-join.js';
import { scenarioFaults, type WindowCounters } from './supervisor/scenario-faults.js';
import { awaitStoreEqual, type StoreAudit } from './supervisor/store-audit.js';
import {
  INGEST_STARTED_RE,
  spawnIngester,
  startWorldServices,
  type WorldPolicy,
  type WorldServices,
} from './supervisor/world-services.js';
import { startWorldInfra, type WorldInfra } from './supervisor/world-stack.js';
import { WorldDriver } from './world-driver.js';
import type { WorldOptionsInput } from './world-options.js';
import type { ProgressSink, Router } from './world-ports.js';
import { type WorldSeries, worldSeries } from './world-series.js';
import type { WorldSummary } from './world-summary.js';

/**
 * Wall ms between fixing the clock and the live phase, while the services
 * start and the ingester catches up: at least the base plus a share per
 * sidecar, and at least START_ALLOWANCE_SETUP_FACTOR times what the
 * infrastructure took to start (a loaded machine starts everything slower).
 * A run that is late anyway starts its live phase behind the clock (its
 * first checkouts then time out unsent) and says so (liveStartLateMs).
 */
export const START_ALLOWANCE_BASE_MS = 30_000;
export const START_ALLOWANCE_PER_SIDECAR_MS = 10_000;
export const START_ALLOWANCE_SETUP_FACTOR = 2;
/** Wall ms the ingester may take to apply the warm-up (and, at the end, the last events). */
export const CATCH_UP_TIMEOUT_MS = 120_000;
export const FINAL_CATCH_UP_TIMEOUT_MS = 30_000;
export const DEFAULT_SPEED = 60;
export const DEFAULT_SIDECARS = 2;

export interface WorldRunOptions {
  world: WorldOptionsInput;
  policy: WorldPolicy;
  sidecars: number;
  /** World clock speed (simulated ms per wall ms). */
  speed: number;
  /** Run directory: logs, NDJSON logs, reports. */
  outDir: string;
  /** Real brokers instead of the mock cluster. */
  brokers?: string[];
  modelDir?: string;
  /** The filter's sidecar call budget, wall ms (default WORLD_FILTER_TIMEOUT_MS). */
  filterTimeoutMs?: number;
  progress?: ProgressSink;
  /** Aborting stops the run (SIGINT): the driver stops, every process is stopped. */
  signal?: AbortSignal;
}

export interface WorldRunResult {
  policy: WorldPolicy;
  sidecars: number;
  speed: number;
  clockSpec: string;
  modelVersion: string;
  summary: WorldSummary;
  /** Redis against the world's delivered view after the drain. */
  audit: StoreAudit;
  /** Redis against the warm-up's view before the live phase. */
  warmupAudit: StoreAudit;
  router: { byStatus: RouterStats; byPod: readonly number[] };
  /** Wall ms the live phase started after the clock's epoch (0: on time). */
  liveStartLateMs: number;
  /** atp_degradations_total per sidecar and reason, scraped at the end. */
  sidecarDegradations: Record<string, Record<string, number>>;
  /** The same when the scenario's window closed, before its fault was undone (null: no window). */
  sidecarDegradationsAtWindowEnd: Record<string, Record<string, number>> | null;
  /** The same per scenario window, at its start and end (a sequence has several). */
  windowCounters: Readonly<Record<string, WindowCounters>>;
  orderServiceReceived: number;
  /** The outcome join's figures (atp-evaluate run on the decision stream and the outcome topic); null: it never answered. */
  evaluation: JoinFigures | null;
  /** Policy `ab`: the model arm against the naive arm from the business-impact report; null otherwise. */
  ab: AbSummary | null;
  /** Per simulated minute of the live phase, and the latencies (the report's charts). */
  series: WorldSeries;
  wallSeconds: { setup: number; warmup: number; services: number; live: number; total: number };
}

/** A clock fixed later (the driver is built before the live phase's epoch is known). */
class DeferredClock implements Clock {
  inner: Clock = systemClock;
  now(): number {
    return this.inner.now();
  }
  wallMs(businessMs: number): number {
    return this.inner.wallMs(businessMs);
  }
  get speed(): number {
    return this.inner.speed;
  }
}

function stoppedError(): AtpError {
  return new AtpError(ERR.WORLD_PHASE, 'the world run was stopped');
}

export async function runWorld(o: WorldRunOptions): Promise<WorldRunResult> {
  const progressSink = o.progress ?? process.stderr;
  const say = (line: string) => progressSink.write(`${line}\n`);
  const t0 = performance.now();
  const lap = (since: number) => (performance.now() - since) / 1000;
  clearRunDir(o.outDir);
  let infra: WorldInfra | null = null;
  let services: WorldServices | null = null;
  let orders: OrderService | null = null;
  let router: DataPlaneRouter | null = null;
  const clock = new DeferredClock();
  const lateRouter: Router = {
    route: (c) => {
      if (router === null) return Promise.reject(new Error('no data plane yet'));
      return router.route(c);
    },
  };
  const events = { sink: null as KafkaEventSink | null };
  const outcomes = { sink: null as KafkaOutcomeSink | null };
  let driver: WorldDriver | null = null;
  const onAbort = () => {
    say('[world] stopping');
    void driver?.stop();
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const checkAborted = () => {
    if (o.signal?.aborted === true) throw stoppedError();
  };
  try {
    const region = resolveSimConfig(o.world.sim ?? {}).region;
    infra = await startWorldInfra({
      runDir: o.outDir,
      region,
      sidecars: o.sidecars,
      ...(o.brokers === undefined ? {} : { brokers: o.brokers }),
      ...(o.modelDir === undefined ? {} : { modelDir: o.modelDir }),
      onProgress: (l) => say(`[world] ${l}`),
    });
    const stack = infra;
    checkAborted();
    if (o.policy === 'ab') {
      // Before the sidecars start: their first snapshot carries the experiment.
      await startAbExperiment(stack, DEFAULT_CHECKOUT_PATH);
      say(`[world] A/B experiment started: naive vs model, 50/50 by session key`);
    }
    orders = await startOrderService(sidecarHoldConfirmer(() => services?.pods.map((p) => p.httpPort) ?? []));
    events.sink = new KafkaEventSink({
      region,
      brokers: stack.brokers,
      file: join(o.outDir, 'events.ndjson'),
    });
    outcomes.sink = new KafkaOutcomeSink({
      region,
      brokers: stack.brokers,
      file: join(o.outDir, 'outcomes.ndjson'),
    });
    await events.sink.start();
    await outcomes.sink.start();
    const eventSink = events.sink;
    const outcomeSink = outcomes.sink;
    const faults = scenarioFaults(stack, () => services, say, scrapeDegradations);
    driver = new WorldDriver(
      {
        router: lateRouter,
        events: eventSink,
        outcomes: outcomeSink,
        clock,
        progress: progressSink,
        scenario: faults,
      },
      o.world,
    );
    const setupS = lap(t0);

    // The warm-up's ingester (wall clock) consumes while the world produces: Kafka keeps only so much.
    const tWarm = performance.now();
    const warmupIngester = spawnIngester(stack, 'ingest-warmup', null, await freePort());
    await warmupIngester.waitForLine(INGEST_STARTED_RE);
    await driver.warmUp();
    await eventSink.flushed();
    await outcomeSink.flushed();
    checkAborted();
    say(`[world] warm-up sent: ${driver.summary().events.warmup} events`);
    const warmupAudit = await awaitStoreEqual(
      stack.redis.url,
      region,
      driver.deliveredView,
      CATCH_UP_TIMEOUT_MS,
    );
    say(
      `[world] the warm-up is in Redis: ${warmupAudit.equal ? 'Redis equals the world' : `${warmupAudit.mismatched}/${warmupAudit.pairs} pairs differ`}`,
    );
    // It commits and leaves the group; the live ingester (world clock) resumes from its offsets.
    await warmupIngester.stop();
    checkAborted();
    const warmupS = lap(tWarm);

    // The batch job: the world's node directory, batch features from the warm-up's history.
    const dirFile = join(o.outDir, 'node-directory.ndjson');
    const nodes = driver.sim.world.nodes.filter((n) => n.region === region);
    writeFileSync(dirFile, `${nodes.map(encodeNodeInfo).join('\n')}\n`);
    await stack.batch(['directory', '--from', dirFile]);
    const windowH = Math.max(
      1,
      Math.ceil((driver.timeline.liveFromMs - driver.timeline.startMs) / 3_600_000),
    );
    await stack.batch([
      'features',
      '--events-file',
      join(o.outDir, 'events.ndjson'),
      '--outcomes-file',
      join(o.outDir, 'outcomes.ndjson'),
      '--now-ms',
      String(driver.timeline.liveFromMs),
      '--window-h',
      String(windowH),
    ]);
    say('[world] batch job: node directory and batch features published');
    checkAborted();

    // The live clock: every service starts on it.
    const tServices = performance.now();
    const spec = {
      simEpochMs: driver.timeline.liveFromMs,
      wallEpochMs:
        Date.now() +
        Math.max(
          START_ALLOWANCE_BASE_MS + START_ALLOWANCE_PER_SIDECAR_MS * o.sidecars,
          Math.round(START_ALLOWANCE_SETUP_FACTOR * setupS * 1000),
        ),
      speed: o.speed,
    };
    const clockSpec = formatWorldClock(spec);
    clock.inner = worldClock(spec);
    say(`[world] world clock ${clockSpec}`);
    const [started, outcomeJoin] = await Promise.all([
      startWorldServices(stack, {
        clockSpec,
        sidecars: o.sidecars,
        policy: o.policy,
        orderServicePort: orders.port,
        ...(o.filterTimeoutMs === undefined ? {} : { filterTimeoutMs: o.filterTimeoutMs }),
        onProgress: (l) => say(`[world] ${l}`),
      }),
      startOutcomeJoin(stack, driver.drainBoundMs).then((j) => {
        say(`[world] outcome join (atp-evaluate run): ${j.url}`);
        return j;
      }),
    ]);
    services = started;
    checkAborted();
    router = new DataPlaneRouter({ endpoints: services.endpoints(), seed: driver.options.seed });
    const waitMs = spec.wallEpochMs - Date.now();
    if (waitMs > 0) await sleepUnlessAborted(waitMs, o.signal);
    const liveStartLateMs = Math.max(0, -waitMs);
    if (liveStartLateMs > 0) say(`[world] the live phase starts ${liveStartLateMs} wall ms late`);
    const servicesS = lap(tServices);

    const tLive = performance.now();
    await driver.goLive();
    await driver.drain();
    await eventSink.flushed();
    await outcomeSink.flushed();
    const liveS = lap(tLive);
    const summary = driver.summary();
    const audit = await awaitStoreEqual(
      stack.redis.url,
      region,
      driver.deliveredView,
      FINAL_CATCH_UP_TIMEOUT_MS,
    );
    const evaluation = await outcomeJoin.figures(driver.timeline.liveUntilMs);
    say(`[world] outcome join: ${evaluation === null ? 'no answer' : `${evaluation.totals.length} row(s)`}`);
    const ab = o.policy === 'ab' ? await abReport(stack, o.outDir) : null;
    if (ab !== null) say(`[world] A/B report: ${ab.html}`);
    const sidecarDegradations: Record<string, Record<string, number>> = {};
    for (const pod of services.pods) {
      sidecarDegradations[pod.id] = await scrapeDegradations(`http://127.0.0.1:${pod.httpPort}/metrics`);
    }
    return {
      policy: o.policy,
      sidecars: o.sidecars,
      speed: o.speed,
      clockSpec,
      modelVersion: stack.modelVersion,
      summary,
      audit,
      warmupAudit,
      router: router.stats(),
      liveStartLateMs,
      sidecarDegradations,
      sidecarDegradationsAtWindowEnd: faults.atWindowEnd,
      windowCounters: faults.windows,
      orderServiceReceived: orders.received,
      evaluation,
      ab,
      series: worldSeries(driver.decisions(), driver.timeline.liveFromMs),
      wallSeconds: { setup: setupS, warmup: warmupS, services: servicesS, live: liveS, total: lap(t0) },
    };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await driver?.stop().catch(() => undefined);
    router?.stop();
    await events.sink?.stop().catch(() => undefined);
    await outcomes.sink?.stop().catch(() => undefined);
    await orders?.stop().catch(() => undefined);
    await infra?.stop();
  }
}

/** What a run writes in its directory: a directory used before is cleared of it (state, logs, NDJSON logs, reports). */
export const RUN_ARTIFACTS = [
  'logs',
  'keys',
  'bundle',
  'control-plane',
  'control-plane.db',
  'control-plane.db-wal',
  'control-plane.db-shm',
  'bootstrap-tokens.json',
  'events.ndjson',
  'outcomes.ndjson',
  'node-directory.ndjson',
  'evaluation.sqlite',
  'evaluation.sqlite-wal',
  'evaluation.sqlite-shm',
  AB_REPORT_HTML,
  AB_REPORT_JSON,
];

function clearRunDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(dir)) {
    if (RUN_ARTIFACTS.includes(name) || /^sidecar-\d+/.test(name) || name.startsWith('world-report.')) {
      rmSync(join(dir, name), { recursive: true, force: true });
    }
  }
}

function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(stoppedError());
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Sums atp_degradations_total by its reason label (0 series: an empty object; unreachable: also empty). */
export async function scrapeDegradations(url: string): Promise<Record<string, number>> {
  const text = await fetch(url, { signal: AbortSignal.timeout(2_000) })
    .then((r) => r.text())
    .catch(() => '');
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('atp_degradations_total{')) continue;
    const label = /degradation="([^"]+)"/.exec(line)?.[1] ?? 'unknown';
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) out[label] = (out[label] ?? 0) + value;
  }
  return out;
}
