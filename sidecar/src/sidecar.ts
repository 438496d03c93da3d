/**
 * Factory for the sidecar's `serve` mode: wires stores, control state, model
 * registry, decision engine, decision log, metrics and the HTTP and gRPC
 * edges. Nothing starts at import; `start()` binds the ports, loads and warms
 * the model (readiness turns true after), `stop()` releases everything.
 *
 * Defaults are the embedded ones: in-memory features, directory,
 * reservations and stream health; no model (rules-only, not flagged unless
 * `rulesOnly` says the rule scorer was chosen in place of a model). `serve`
 * (main.ts) passes Redis adapters (see redis-wiring.ts) and the committed
 * model bundle by default.
 */

import { MemoryFeatureStore } from '@mercato/adapters/memory/memory-feature-store';
import { MemoryNodeDirectory } from '@mercato/adapters/memory/memory-node-directory';
import { MemoryStreamHealth } from '@mercato/adapters/memory/memory-stream-health';
import { FEATURE_NAMES } from '@mercato/features/feature-vector';
import type { FeatureReader, NodeDirectory, StreamHealth } from '@mercato/features/store-ports';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import type { Mode } from '@mercato/proto/v1/decision';
import { driftReportToJson } from '@mercato/proto/v1/drift-report';
import { GrpcEdge } from './adapters/grpc/grpc-server.js';
import type { HoldTokens } from './adapters/http/hold-token.js';
import { HttpEdge } from './adapters/http/http-server.js';
import { MemoryReservationStore } from './adapters/memory/memory-reservation-store.js';
import { createOnnxRanker } from './adapters/onnx/onnx-ranker.js';
import { BrowseAnswers } from './browse/browse-answers.js';
import { CachedFeatureReader } from './cache/cached-feature-reader.js';
import { HOT_CACHE_TTL_MS, HOT_CACHE_UNKNOWN_TTL_MS, HotCache } from './cache/hot-cache.js';
import { createSignatureVerifier } from './control/bundle-verifier.js';
import { type ControlLink, type ControlLinkConfig, createControlLink } from './control/control-link.js';
import { ControlState } from './control/control-state.js';
import { DecisionEngine } from './decision/decision-engine.js';
import type { Clock, EnforcedSide, ReservationStore } from './decision/ports.js';
import { DecisionLog, type DecisionLogSink } from './decision-log/decision-log.js';
import { DecisionRing } from './decision-log/decision-ring.js';
import { type DecisionEventSink, DecisionStream, fanOutSinks } from './decision-log/decision-stream.js';
import { registerDriftMetrics } from './drift/drift-metrics.js';
import { DriftMonitor, type DriftMonitorOptions } from './drift/drift-monitor.js';
import { driftReport } from './drift/drift-report.js';
import { FeatureAudit } from './drift/feature-audit.js';
import type { EscrowBudgets } from './escrow/escrow-budgets.js';
import { FailoverMetrics } from './escrow/failover-metrics.js';
import { FailoverReservations } from './escrow/failover-reservations.js';
import { FailoverService } from './escrow/failover-service.js';
import { ExperimentAssigner } from './experiments/experiment-assigner.js';
import type { BundleVerifier } from './model/model-bundle.js';
import { ModelGuard } from './model/model-guard.js';
import { ModelRegistry, type RankerLoader } from './model/model-registry.js';
import { SidecarMetrics } from './observability/metrics.js';

export const RULES_ONLY_MODEL_VERSION = 'rules-only';
/** Mode when no control route matches a request's route. */
export const DEFAULT_MODE: Mode = 'enforce';
/** Which side answers when a model is active; the other is logged. */
export const DEFAULT_ENFORCED_SIDE: EnforcedSide = 'model';
export const DEFAULT_RULES_VERSION = 'rules-v0';
/**
 * How long the control plane's watch may be lost (no event, not connected)
 * before answers say `control-plane`: the watch client itself calls a
 * stream stale after three missed 5 s heartbeats, plus a reconnect attempt.
 */
export const CONTROL_LOST_AFTER_MS = 30_000;

export interface SidecarConfig {
  region: string;
  host?: string;
  httpPort?: number;
  grpcPort?: number;
  /** Mode when no control route matches a request's route (default DEFAULT_MODE). */
  mode?: Mode;
  /** Which side answers when a model is active; the other is logged (default DEFAULT_ENFORCED_SIDE). */
  enforce?: EnforcedSide;
  clock?: Clock;
  /** The embedded feature store (`features.apply(event)`); used for reads unless `featureReader` is set. */
  features?: MemoryFeatureStore;
  /** A remote feature store (Redis): reads go through the hot cache to it. */
  featureReader?: FeatureReader;
  /** The embedded directory (`directory.upsert(node)`); used unless `nodeDirectory` is set. */
  directory?: MemoryNodeDirectory;
  nodeDirectory?: NodeDirectory;
  reservations?: ReservationStore;
  /** Key of the hold tokens the release callback checks (default: a key of this process). */
  holdTokens?: HoldTokens;
  streamHealth?: StreamHealth;
  control?: ControlState;
  /** A model bundle folder to load, verify and warm at start; on failure the rule scorer answers, flagged. */
  modelDir?: string;
  /**
   * The rule scorer answers in place of a model by choice (`serve
   * --rules-only`): every answer is flagged `degraded: model` all the same.
   */
  rulesOnly?: boolean;
  /** Session factory for bundles (default: onnxruntime-node). */
  loadRanker?: RankerLoader;
  bundleVerifier?: BundleVerifier;
  /** Give-up point of one ranker run in ms (default INFERENCE_TIMEOUT_MS = 5). */
  inferenceTimeoutMs?: number;
  /** Hot cache bound in records (default 1M); false = no cache (every read goes to the store). */
  hotCacheRecords?: number | false;
  /** Decision-log sink; null or absent = no decision log. */
  decisionLogSink?: DecisionLogSink | null;
  /** Where `atp.decision.v1` events go (`--decision-stream`); null/absent = no stream. */
  decisionStreamSink?: DecisionEventSink | null;
  /** Online drift monitor settings (window size and time, alarm level); false turns it off. Default on. */
  drift?: DriftMonitorOptions | false;
  /** Served feature vectors of a sample of scored requests, for the skew audit (`serve --feature-audit`). */
  featureAudit?: { sink: DecisionLogSink; rate: number } | null;
  /** Keep this many recent decisions for GET /v1/decisions/<id> (the console's explorer); absent/0 = off. */
  recentDecisions?: number;
  logger?: Logger;
  /** Watch lost this long (wall ms) before answers say `control-plane` (default CONTROL_LOST_AFTER_MS). */
  controlLostAfterMs?: number;
  /** Age past which batch node features are stale, in business ms (default BATCH_FEATURES_MAX_AGE_MS). */
  batchMaxAgeMs?: number;
  /** Collect Node default metrics (GC, event loop) too (default true). */
  defaultMetrics?: boolean;
  /** Closed by stop() after the edges (Redis clients, refresh timers). */
  closers?: (() => Promise<void> | void)[];
  /**
   * Watch a control plane: snapshots feed ControlState (persisted as the last
   * good one), model rollouts feed the registry, bundles are verified with the
   * trusted keys. Absent = the embedded default snapshot (`npm start`).
   */
  controlLink?: ControlLinkConfig;
  /**
   * Regional failover (`--failover-for`): requests of these regions are
   * accepted and answered only from the escrow budgets they keep here.
   */
  failover?: { origins: readonly string[]; budgets: EscrowBudgets };
}

export interface Sidecar {
  readonly features: MemoryFeatureStore;
  readonly directory: MemoryNodeDirectory;
  readonly reservations: ReservationStore;
  readonly streamHealth: StreamHealth;
  readonly control: ControlState;
  readonly models: ModelRegistry;
  readonly engine: DecisionEngine;
  readonly metrics: SidecarMetrics;
  readonly decisionLog: DecisionLog | null;
  readonly decisionStream: DecisionStream | null;
  /** Online drift of the served rows (null: turned off). */
  readonly drift: DriftMonitor | null;
  /** The served side of the skew audit (null: not configured). */
  readonly featureAudit: FeatureAudit | null;
  readonly hotCache: HotCache | null;
  readonly http: HttpEdge;
  readonly grpc: GrpcEdge;
  readonly logger: Logger;
  /** The control-plane watch, when configured. */
  readonly link: ControlLink | null;
  /** True once started and the configured model is warmed (or has failed and the rule scorer stands in). */
  readonly ready: boolean;
  start(): Promise<{ httpPort: number; grpcPort: number }>;
  stop(): Promise<void>;
}

export function createSidecar(config: SidecarConfig): Sidecar {
  const clock = config.clock ?? Date.now;
  const logger = config.logger ?? silentLogger();
  const features = config.features ?? new MemoryFeatureStore();
  const directory = config.directory ?? new MemoryNodeDirectory();
  const nodeDirectory = config.nodeDirectory ?? directory;
  const reservations = config.reservations ?? new MemoryReservationStore();
  const streamHealth = config.streamHealth ?? new MemoryStreamHealth();
  const control = config.control ?? new ControlState(config.region);
  let hotCache: HotCache | null = null;
  let reader: FeatureReader = features;
  if (config.featureReader !== undefined) {
    if (config.hotCacheRecords !== false) {
      hotCache = new HotCache({
        maxRecords: config.hotCacheRecords,
        ttlMsForNode: (id) => {
          const n = nodeDirectory.info(id);
          return n === undefined ? HOT_CACHE_UNKNOWN_TTL_MS : HOT_CACHE_TTL_MS[n.nodeType];
        },
      });
      reader = new CachedFeatureReader(config.featureReader, hotCache, clock);
    } else {
      reader = config.featureReader;
    }
  }
  const cache = hotCache;
  const metrics = new SidecarMetrics({
    defaultMetrics: config.defaultMetrics,
    hotCacheRecords: cache === null ? undefined : () => cache.records,
    batchFeatures: () => {
      const info = nodeDirectory.batchInfo();
      return {
        version: nodeDirectory.batchVersion,
        ageS: info === null ? null : (clock() - info.computedAtMs) / 1000,
      };
    },
  });
  const models = new ModelRegistry({
    loadRanker: config.loadRanker ?? ((b) => createOnnxRanker(b)),
    verifier:
      config.bundleVerifier ??
      (config.controlLink === undefined
        ? undefined
        : createSignatureVerifier(config.controlLink.trustedKeys)),
    onEvent: (event, detail) => {
      if (event === 'model_load_failed') logger.error({ event, ...detail }, 'model refused');
      else logger.info({ event, ...detail }, event);
      if (event === 'model_activated') {
        metrics.setModel(String(detail.version));
        const loaded = models.get(String(detail.version));
        if (loaded !== null) oversellEstimate?.setHeldOut(loaded.version, loaded.manifest.metrics);
      }
    },
  });
  metrics.setModel(RULES_ONLY_MODEL_VERSION);
  if (config.rulesOnly === true) models.expected = true;
  const decisionLog = config.decisionLogSink ? new DecisionLog(config.decisionLogSink) : null;
  if (decisionLog !== null) {
    decisionLog.onDrop = (n) => metrics.decisionLogDropped.inc(n);
    decisionLog.onWritten = (n) => metrics.decisionLogWritten.inc(n);
  }
  const decisionStream = config.decisionStreamSink
    ? new DecisionStream(config.decisionStreamSink, {
        nodeType: (id) => nodeDirectory.info(id)?.nodeType,
        registry: metrics.registry,
      })
    : null;
  const recent = (config.recentDecisions ?? 0) > 0 ? new DecisionRing(config.recentDecisions) : null;
  const drift = config.drift === false ? null : new DriftMonitor(FEATURE_NAMES, config.drift ?? {});
  const oversellEstimate = drift === null ? null : registerDriftMetrics(metrics.registry, drift);
  const featureAudit = config.featureAudit
    ? new FeatureAudit(config.featureAudit.sink, config.region, config.featureAudit.rate, metrics.registry)
    : null;
  /** When the watch was started (wall ms): a link that never connected is lost from then. */
  let linkStartedAtMs = Date.now();
  const link =
    config.controlLink === undefined
      ? null
      : createControlLink(config.controlLink, { control, models, logger, registry: metrics.registry });
  const engine = new DecisionEngine({
    features: reader,
    directory: nodeDirectory,
    reservations,
    streamHealth,
    control,
    models,
    guard: new ModelGuard(config.inferenceTimeoutMs),
    clock,
    defaultMode: config.mode ?? DEFAULT_MODE,
    enforce: config.enforce ?? DEFAULT_ENFORCED_SIDE,
    decisionLog: fanOutSinks(decisionLog, decisionStream, recent),
    observer: oversellEstimate === null ? metrics : metrics.alsoTo(oversellEstimate),
    drift,
    featureAudit,
    // The ring keeps each scored candidate's served row with its decision (nothing copied when off).
    servedRows: recent,
    rulesOnlyVersion: RULES_ONLY_MODEL_VERSION,
    ...(config.batchMaxAgeMs === undefined ? {} : { batchMaxAgeMs: config.batchMaxAgeMs }),
    ...(link === null
      ? {}
      : { controlLost: controlLostSince(link, () => linkStartedAtMs, config.controlLostAfterMs) }),
    modelFor: (requestId) => link?.follower.modelFor(requestId) ?? null,
    experiments: new ExperimentAssigner(() => control.snapshot, config.region, metrics.registry),
  });
  // Product pages read kept per-SKU answers; checkouts go to the engine (issue 17 item 2).
  const answers = new BrowseAnswers(engine, {
    generation: () => `${control.snapshot.version}|${control.snapshot.contentHash}|${engine.modelVersion}`,
    clock,
  });
  const origins = new Set(config.failover?.origins ?? []);
  const budgets = origins.size === 0 ? null : (config.failover?.budgets ?? null);
  // The edges accept another region's requests only when the service answers them from escrow.
  const failoverFor = budgets === null ? new Set<string>() : origins;
  const service =
    budgets === null
      ? answers
      : new FailoverService({
          inner: answers,
          region: config.region,
          origins: failoverFor,
          budgets,
          control,
          clock,
          defaultMode: config.mode ?? DEFAULT_MODE,
          metrics: new FailoverMetrics(metrics.registry),
          observer: metrics,
        });
  let started = false;
  let ready = false;
  const isReady = () => ready;
  const onError = (edge: string) => (e: { code: string }) => metrics.errors.inc({ code: e.code, edge });
  const http = new HttpEdge({
    service,
    region: config.region,
    failoverFor,
    host: config.host,
    port: config.httpPort,
    isReady,
    ...(config.holdTokens === undefined ? {} : { holdTokens: config.holdTokens }),
    readiness: () => {
      const batch = nodeDirectory.batchInfo();
      return {
        region: config.region,
        model_version: engine.modelVersion,
        batch_version: nodeDirectory.batchVersion,
        batch_computed_at_ms: batch?.computedAtMs ?? null,
        directory_version: nodeDirectory.directoryVersion,
      };
    },
    filterSnapshot: () => control.filterSnapshot(engine.modelVersion),
    // A released failover promise goes back to its escrow budget.
    reservations:
      budgets === null ? reservations : new FailoverReservations(reservations, [...failoverFor], budgets),
    clock,
    decisions: recent,
    ...(drift === null ? {} : { drift: () => driftReportToJson(driftReport(drift, config.region, clock())) }),
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
    onError: onError('http'),
  });
  const grpc = new GrpcEdge({
    service,
    region: config.region,
    failoverFor,
    host: config.host,
    port: config.grpcPort,
    isReady,
    onError: onError('grpc'),
  });
  return {
    features,
    directory,
    reservations,
    streamHealth,
    control,
    models,
    engine,
    metrics,
    decisionLog,
    decisionStream,
    drift,
    featureAudit,
    hotCache,
    http,
    grpc,
    logger,
    link,
    get ready() {
      return ready;
    },
    async start() {
      if (started) return { httpPort: http.port, grpcPort: grpc.port };
      started = true;
      // The persisted last good snapshot applies before the first request is served.
      linkStartedAtMs = Date.now();
      link?.start();
      decisionLog?.start();
      decisionStream?.start();
      featureAudit?.start();
      const httpPort = await http.start();
      const grpcPort = await grpc.start();
      if (config.modelDir !== undefined) {
        await models.loadAndActivate(config.modelDir).catch((err: Error) => {
          // Degraded but safe: the rule scorer answers, every answer flagged `model`.
          logger.error(
            { code: (err as { code?: string }).code, err: err.message },
            'model not loaded; rules answer',
          );
        });
      }
      ready = true;
      return { httpPort, grpcPort };
    },
    async stop() {
      ready = false;
      await Promise.all([http.stop(), grpc.stop()]);
      await decisionLog?.stop();
      await decisionStream?.stop();
      await featureAudit?.stop();
      await link?.stop();
      await models.stop();
      for (const close of config.closers ?? []) await close();
      started = false;
    },
  };
}

/**
 * The watch is lost when it is not connected and nothing came from the
 * control plane for `afterMs` (wall time: the link is about the machine,
 * not the world), counted from start when it never connected.
 */
function controlLostSince(
  link: ControlLink,
  startedAtMs: () => number,
  afterMs = CONTROL_LOST_AFTER_MS,
): () => boolean {
  return () => {
    const s = link.watch.stats;
    return !s.connected && Date.now() - Math.max(s.lastEventAtMs, startedAtMs()) > afterMs;
  };
}
