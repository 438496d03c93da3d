/**
 * The whole local system on embedded defaults, in one process (what `npm
 * start` runs), in the production shape with in-process adapters instead of
 * Kafka and Redis:
 *
 *   simulator --send--> MemoryEventLog (inventory.mutations.<region>)
 *     --> embedded ingest (the real ingest domain) --> MemoryFeatureStore
 *                                                  + MemoryIngestState (lag)
 *   batch jobs (batch/src: directory + node features, from the log) --> MemoryNodeDirectory
 *   sidecar (createSidecar; loads and verifies the bundle models/CURRENT names)
 *     <-- compiled .wasm filter in the proxy-wasm emulator (local data plane) <-- curl
 *     --> demo checkout upstream
 *
 * A warm-up applies the last WARMUP_MS of simulated history at once (through
 * the same log and ingester), so stock and batch features exist at start;
 * then records are produced when the wall clock reaches their delivery time.
 * Every part has start/stop; nothing runs at import.
 */
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { MemoryEventLog } from '../adapters/src/memory/memory-event-log.js';
import { MemoryFeatureStore } from '../adapters/src/memory/memory-feature-store.js';
import { MemoryIngestState } from '../adapters/src/memory/memory-ingest-state.js';
import { MemoryNodeDirectory } from '../adapters/src/memory/memory-node-directory.js';
import { runDirectoryJob } from '../batch/src/directory-job.js';
import { DEFAULT_WINDOW_MS, runFeaturesJob } from '../batch/src/features-job.js';
import { type EmbeddedIngest, startEmbeddedIngest } from '../ingest/src/embedded-ingest.js';
import { Periodic } from '../platform/src/periodic.js';
import { encodeEvent, eventKey } from '../proto/v1/inventory-event.js';
import { mutationsTopic } from '../proto/v1/topics.js';
import { readModelBundle } from '../sidecar/src/model/model-bundle.js';
import { createSidecar, type Sidecar } from '../sidecar/src/sidecar.js';
import { createSimulator, type SimRecord, type Simulator } from '../training/src/simulator/index.js';
import { createLocalDataPlane, type LocalDataPlane } from '../wasm-filter/emulator/local-data-plane.js';
import { buildWasmFilter, OUT_PATH as FILTER_WASM_PATH } from '../wasm-filter/scripts/build.js';
import { chooseExamples, type DemoExample, type DemoExamples } from './demo-examples.js';
import { startDemoUpstream } from './demo-upstream.js';
import { memoryLogEventHistory, memoryNodeSetPublisher } from './embedded-node-sets.js';
import { type LocalControlPlane, localControlLink, startLocalControlPlane } from './local-control-plane.js';
import { serveMetrics } from './metrics-endpoint.js';

// The fixed demo warehouse stays importable for the control-plane e2e tests' tiny world.
export { DEMO_IN_STOCK_SKU, DEMO_NODE, DEMO_SOLD_OUT_SKU, DEMO_ZONE } from './demo-warehouse.js';

export const DEFAULT_PORTS = { dataPlane: 8080, upstream: 8081, sidecarHttp: 8090, sidecarGrpc: 8091 };
/** The embedded control plane: admin API and console, watch stream. */
export const DEFAULT_CONTROL_PORTS = { http: 7070, grpc: 7071 };
/** Recent decisions the sidecar keeps for the console's decision explorer. */
export const RECENT_DECISIONS = 4_096;
export const REGION = 'eu-west';
/** The committed model bundles; CURRENT names the default one. */
export const MODELS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'models');
/** Simulated history applied at once before real-time pacing starts, so stock and batch features exist. */
export const WARMUP_MS = 20 * 60_000;
/** Partitions of the embedded inventory topic. */
export const EVENT_PARTITIONS = 4;
/** The batch features job re-runs this often (a CronJob in production). */
export const BATCH_EVERY_MS = 5 * 60_000;
/** How long the ingester may take to apply the warm-up before start gives up. */
export const INGEST_CATCH_UP_TIMEOUT_MS = 120_000;
const INGEST_POLL_MS = 50;
/** How long the sidecar may take to download, verify and warm the promoted bundle. */
const MODEL_FOLLOW_TIMEOUT_MS = 60_000;
/** Records per produce call during the warm-up. */
const PRODUCE_CHUNK_RECORDS = 2_000;
/** The pacer sleeps at most this long at a time, so stop() is prompt. */
const PACER_MAX_SLEEP_MS = 200;
/** Clean allows in a row that end the path warm-up. */
const WARMUP_ALLOWS_IN_A_ROW = 5;
/** Longer than the model's circuit cooldown (MODEL_COOLDOWN_MS), so an early open circuit can close. */
const WARMUP_TIMEOUT_MS = 30_000;
const WARMUP_PAUSE_MS = 20;

export const FILTER_CONFIG = {
  sidecar_cluster: 'atp-sidecar',
  sidecar_authority: 'atp-sidecar',
  sidecar_path: '/v1/check',
  timeout_ms: 25,
  region: REGION,
  max_body_bytes: 65_536,
  routes: [{ prefix: '/checkout', mode: 'enforce' }],
};

export interface LocalMeshOptions {
  ports?: Partial<typeof DEFAULT_PORTS>;
  controlPorts?: Partial<typeof DEFAULT_CONTROL_PORTS>;
  seed?: number;
  /** Simulated history applied at start (default WARMUP_MS; tests use less to start sooner). */
  warmupMs?: number;
  /** A bundle folder or a models root with CURRENT (default MODELS_DIR). */
  modelsDir?: string;
  log?: (line: string) => void;
}

export interface LocalMesh {
  ports: typeof DEFAULT_PORTS;
  region: string;
  sidecar: Sidecar;
  dataPlane: LocalDataPlane;
  ingest: EmbeddedIngest;
  eventLog: MemoryEventLog;
  /** The embedded control plane the sidecar follows; it serves the operator console. */
  control: LocalControlPlane;
  /** The last allowed warm-up checkout (the decision explorer can show it); null when none was allowed. */
  warmupDecisionId: string | null;
  /** The version of the bundle models/CURRENT names (null: refused, rules answer flagged `model`). */
  expectedModelVersion: string | null;
  /** The version the sidecar answers with. */
  readonly modelVersion: string;
  examples: DemoExamples;
  /** Inventory events produced to the log so far (warm-up plus real time). */
  readonly eventsProduced: number;
  stop(): Promise<void>;
}

export async function startLocalMesh(opts: LocalMeshOptions = {}): Promise<LocalMesh> {
  const log = opts.log ?? (() => undefined);
  const ports = { ...DEFAULT_PORTS, ...opts.ports };
  const modelsDir = opts.modelsDir ?? MODELS_DIR;
  await buildWasmFilter({ log: () => undefined });

  // What models/CURRENT names, read with the sidecar's own checks; the sidecar loads it again itself.
  const expectedModelVersion = await readModelBundle(modelsDir).then(
    (b) => b.manifest.version,
    (err: Error) => {
      log(`model bundle in ${modelsDir} refused (${err.message}); rules answer, flagged degraded: model`);
      return null;
    },
  );

  const warmupMs = opts.warmupMs ?? WARMUP_MS;
  const startMs = Date.now() - warmupMs;
  const sim = createSimulator({ seed: opts.seed ?? 1, startTimeMs: startMs });
  const topic = mutationsTopic(REGION);
  const eventLog = new MemoryEventLog();
  eventLog.createTopic(topic, EVENT_PARTITIONS);
  const features = new MemoryFeatureStore();
  const ingestState = new MemoryIngestState();
  const directory = new MemoryNodeDirectory();
  const publisher = memoryNodeSetPublisher(directory);

  const dir = await runDirectoryJob(REGION, sim.world.nodes, publisher, Date.now());
  log(`batch directory job: ${dir.nodes} nodes published as ${dir.version}`);

  // Warm-up: the simulated past goes through the log at once, stamped with its delivery times.
  const producer = new RecordPump(sim, eventLog, topic);
  const warmupEnd = Date.now();
  await producer.produceUntil(warmupEnd, PRODUCE_CHUNK_RECORDS);
  const ingest = await startEmbeddedIngest({
    region: REGION,
    log: eventLog,
    featureSink: features,
    stateStore: ingestState,
  });
  // Stopped in reverse start order; stop() is idempotent (a second call waits for the first).
  const parts: { stop(): Promise<void> }[] = [ingest];
  let stopped: Promise<void> | null = null;
  const stopParts = () => {
    stopped ??= (async () => {
      for (const p of [...parts].reverse()) await p.stop().catch((err: Error) => log(`stop: ${err.message}`));
    })();
    return stopped;
  };
  try {
    await waitForCatchUp(eventLog, topic, ingest.config.groupId);
    log(
      `simulator warm-up: ${producer.produced} events over ${warmupMs / 60_000} simulated minutes, applied by the ingester`,
    );

    const runFeatures = async (nowMs: number) => {
      const r = await runFeaturesJob(
        {
          region: REGION,
          events: memoryLogEventHistory(eventLog, topic),
          outcomes: null,
          nowMs,
          windowMs: DEFAULT_WINDOW_MS,
        },
        publisher,
      );
      log(`batch features job: ${r.nodes} nodes from ${r.eventsUsed} events, published as ${r.version}`);
    };
    await runFeatures(warmupEnd);
    const batch = new Periodic({
      name: 'batch-features',
      intervalMs: BATCH_EVERY_MS,
      run: () => runFeatures(Date.now()),
      onError: (err) => log(`batch features job failed: ${(err as Error).message}`),
    });

    // Real time from here on: each simulated record is produced when the wall clock reaches it.
    let stopping = false;
    const pacer = (async () => {
      while (!stopping) {
        const due = producer.nextDueMs();
        const t = Date.now();
        if (due > t) {
          await sleep(Math.min(PACER_MAX_SLEEP_MS, due - t));
          continue;
        }
        await producer.produceUntil(t, PRODUCE_CHUNK_RECORDS);
      }
    })();
    await batch.start();
    parts.push({
      async stop() {
        stopping = true;
        await pacer;
        await batch.stop();
      },
    });

    const control = await startLocalControlPlane({
      httpPort: opts.controlPorts?.http ?? DEFAULT_CONTROL_PORTS.http,
      grpcPort: opts.controlPorts?.grpc ?? DEFAULT_CONTROL_PORTS.grpc,
      modelsDir,
      log,
    });
    parts.push(control);
    const sidecar = createSidecar({
      region: REGION,
      host: '127.0.0.1',
      httpPort: ports.sidecarHttp,
      grpcPort: ports.sidecarGrpc,
      features,
      directory,
      streamHealth: ingestState,
      // No modelDir: the bundle comes from the control plane (pushed, signed and promoted at its start),
      // downloaded and verified like in production.
      recentDecisions: RECENT_DECISIONS,
      controlLink: localControlLink(control, REGION),
    });
    parts.push(sidecar);
    const started = await sidecar.start();
    const ingestMetrics = await serveMetrics(ingest.metrics.registry);
    parts.push(ingestMetrics);
    control.cp.console.scraper.add({
      region: REGION,
      kind: 'sidecar',
      url: `http://127.0.0.1:${started.httpPort}`,
    });
    control.cp.console.scraper.add({ region: REGION, kind: 'ingest', url: ingestMetrics.url });
    if (expectedModelVersion !== null) await waitForModel(sidecar, expectedModelVersion);
    const modelVersion = sidecar.engine.modelVersion;
    if (expectedModelVersion !== null && modelVersion !== expectedModelVersion) {
      log(`the sidecar did not activate ${expectedModelVersion}; rules answer, flagged degraded: model`);
    } else {
      log(`sidecar model: ${modelVersion}`);
    }
    const examples = await chooseExamples(REGION, sim.world, sidecar.engine, sidecar.reservations);

    const upstream = await startDemoUpstream(ports.upstream);
    parts.push(upstream);
    const dataPlane = createLocalDataPlane({
      port: ports.dataPlane,
      wasmPath: FILTER_WASM_PATH,
      pluginConfig: FILTER_CONFIG,
      upstream: { host: '127.0.0.1', port: upstream.port },
      clusters: { 'atp-sidecar': { host: '127.0.0.1', port: started.httpPort } },
      logLevel: 'warn',
      onLog: (e) => log(`filter ${e.level}: ${e.message}`),
    });
    parts.push(dataPlane);
    const dp = await dataPlane.start();
    const modelActive = expectedModelVersion !== null && modelVersion === expectedModelVersion;
    const warmupDecisionId = await warmUpPath(dp.port, started.httpPort, examples.inStock, modelActive, log);

    return {
      ports: {
        dataPlane: dp.port,
        upstream: upstream.port,
        sidecarHttp: started.httpPort,
        sidecarGrpc: started.grpcPort,
      },
      region: REGION,
      sidecar,
      dataPlane,
      ingest,
      eventLog,
      control,
      warmupDecisionId,
      expectedModelVersion,
      get modelVersion() {
        return sidecar.engine.modelVersion;
      },
      examples,
      get eventsProduced() {
        return producer.produced;
      },
      stop: stopParts,
    };
  } catch (err) {
    await stopParts();
    throw err;
  }
}

/** Produces the simulator's inventory events to the log in delivery order, up to a given time. */
class RecordPump {
  produced = 0;
  private readonly records: Generator<SimRecord, void, undefined>;
  private next: IteratorResult<SimRecord, void>;

  constructor(
    sim: Simulator,
    private readonly log: MemoryEventLog,
    private readonly topic: string,
  ) {
    this.records = sim.run();
    this.next = this.records.next();
  }

  /** Delivery (or decision) time of the next record; Infinity when the world has ended. */
  nextDueMs(): number {
    if (this.next.done) return Number.POSITIVE_INFINITY;
    const r = this.next.value;
    return r.type === 'event' ? r.deliverAtMs : r.atMs;
  }

  async produceUntil(untilMs: number, chunk: number): Promise<void> {
    let batch: { key: string; value: string; timestamp: string }[] = [];
    while (!this.next.done && this.nextDueMs() <= untilMs) {
      const r = this.next.value;
      if (r.type === 'event') {
        batch.push({ key: eventKey(r.event), value: encodeEvent(r.event), timestamp: String(r.deliverAtMs) });
        if (batch.length >= chunk) {
          await this.flush(batch);
          batch = [];
        }
      }
      this.next = this.records.next();
    }
    await this.flush(batch);
  }

  private async flush(batch: { key: string; value: string; timestamp: string }[]): Promise<void> {
    if (batch.length === 0) return;
    await this.log.send(this.topic, batch);
    this.produced += batch.length;
  }
}

/** Waits (at most MODEL_FOLLOW_TIMEOUT_MS) until the sidecar serves `version`, followed from the control plane. */
async function waitForModel(sidecar: Sidecar, version: string): Promise<void> {
  const deadline = Date.now() + MODEL_FOLLOW_TIMEOUT_MS;
  while (sidecar.engine.modelVersion !== version && Date.now() < deadline) await sleep(INGEST_POLL_MS);
}

/** Resolves once the ingest group has committed every record of the topic. */
async function waitForCatchUp(log: MemoryEventLog, topic: string, groupId: string): Promise<void> {
  const deadline = Date.now() + INGEST_CATCH_UP_TIMEOUT_MS;
  for (;;) {
    const committed = log.committed(groupId, topic);
    const behind = [...log.highWatermarks(topic)].some(([p, high]) => (committed.get(p) ?? '0') !== high);
    if (!behind) return;
    if (Date.now() > deadline) {
      throw new Error(`the ingester did not apply the warm-up within ${INGEST_CATCH_UP_TIMEOUT_MS} ms`);
    }
    await sleep(INGEST_POLL_MS);
  }
}

/**
 * Sends the in-stock example's checkout through the whole path until it is
 * allowed WARMUP_ALLOWS_IN_A_ROW times in a row with no degradation (but
 * `model` when no model is active: the rule scorer answers by design; and
 * `drift`, the model's state in a world that is not its training world), so the
 * first request a person sends does not pay for cold connections and JIT
 * against the filter's 25 ms sidecar budget (Envoy warms its cluster
 * connections the same way through health checks), and a model circuit
 * opened by a cold first inference has closed again. Each allowed warm-up
 * checkout releases its hold at once, with the hold token the filter passed
 * to the checkout service (x-atp-hold-token, echoed by the demo upstream):
 * the warm-up leaves no stock held, and logs any release that did not
 * answer 200. On a
 * machine too busy to get there within WARMUP_TIMEOUT_MS it logs so and
 * returns (the mesh starts; its answers carry their degradations).
 */
async function warmUpPath(
  dataPlanePort: number,
  sidecarPort: number,
  ex: DemoExample,
  modelActive: boolean,
  log: (line: string) => void,
): Promise<string | null> {
  const body = JSON.stringify({ buyer_zone: ex.zone, items: [{ sku: ex.sku, qty: ex.qty }] });
  const deadline = Date.now() + WARMUP_TIMEOUT_MS;
  let inARow = 0;
  let last = 'no answer';
  let lastAllowed: string | null = null;
  const holds = { unreleased: 0, problem: '' };
  let driftSeen = false;
  const released = (): string =>
    holds.unreleased === 0
      ? 'each hold released'
      : `${holds.unreleased} hold(s) NOT released, kept until their TTL (last: ${holds.problem})`;
  for (let i = 0; Date.now() < deadline; i++) {
    const res = await fetch(`http://127.0.0.1:${dataPlanePort}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `warmup-${i}` },
      body,
    }).catch(() => null);
    const answer = (await res?.json().catch(() => null)) as {
      atp_decision_id?: string | null;
      atp_degraded?: string | null;
      atp_hold_token?: string | null;
    } | null;
    last = `HTTP ${res?.status ?? 'none'}, degraded ${answer?.atp_degraded ?? 'none'}`;
    const id = answer?.atp_decision_id;
    if (res?.status === 201 && typeof id === 'string') {
      lastAllowed = id;
      const degraded = (answer?.atp_degraded ?? '').split(',').filter((d) => d !== '');
      // `sidecar`: the filter allowed on its own (cache, margin), so no hold was taken and there is no token.
      const problem = degraded.includes('sidecar')
        ? null
        : await releaseHold(sidecarPort, id, answer?.atp_hold_token ?? null, ex.sku);
      if (problem !== null) {
        holds.unreleased++;
        holds.problem = problem;
      }
      // `drift` says this small, young world is not the one the model was trained on (the margin is widened);
      // it is the model's state, not a cold path, and warming up again would not change it.
      const clean = degraded.every((d) => (d === 'model' && !modelActive) || d === 'drift');
      if (degraded.includes('drift')) driftSeen = true;
      inARow = clean ? inARow + 1 : 0;
      if (inARow >= WARMUP_ALLOWS_IN_A_ROW) {
        log(
          `warm-up: ${i + 1} checkouts through the path, the last ${inARow} allowed ${driftSeen ? 'flagged drift only' : 'without degradation'}; ${released()}`,
        );
        if (driftSeen) {
          log(
            'drift: the served features differ from the training baselines (a young simulated world), so answers carry degraded: drift and wider margins; see GET /v1/drift on the sidecar',
          );
        }
        return lastAllowed;
      }
    } else {
      inARow = 0;
    }
    await sleep(WARMUP_PAUSE_MS);
  }
  // A busy machine keeps the path slow: start anyway, saying so (answers then carry their degradations).
  log(
    `warm-up: the path did not allow ${ex.sku} ${WARMUP_ALLOWS_IN_A_ROW} times in a row without degradation within ${WARMUP_TIMEOUT_MS} ms (last: ${last}); ${released()}; starting anyway`,
  );
  return lastAllowed;
}

/**
 * Releases a warm-up checkout's hold with the hold token the filter passed to
 * the checkout service (the sidecar refuses a release without it, 403).
 * Returns null once the sidecar answered 200, else what went wrong.
 */
async function releaseHold(
  sidecarPort: number,
  decisionId: string,
  holdToken: string | null,
  sku: string,
): Promise<string | null> {
  if (holdToken === null) return `no hold token reached the upstream for ${decisionId}`;
  const res = await fetch(`http://127.0.0.1:${sidecarPort}/v1/reservations/release`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ decision_id: decisionId, hold_token: holdToken, skus: [sku] }),
  }).catch((err: Error) => err);
  if (res instanceof Error) return `release of ${decisionId} failed: ${res.message}`;
  const text = await res.text().catch(() => '');
  return res.status === 200 ? null : `release of ${decisionId} answered ${res.status} ${text.slice(0, 200)}`;
}
