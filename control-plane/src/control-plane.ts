/**
 * Factory of a control plane: store, change service, snapshot hub and
 * signer, the watch gRPC server and the admin HTTP server, the refusal
 * audit and audit retention. Nothing runs at import; `start()` loads the
 * trusted keys, the snapshot signing key and the TLS material, opens the
 * store (creating or migrating the schema), publishes version 1 on a fresh
 * store, creates configured tokens and binds both ports (TLS when a
 * certificate is configured; otherwise plaintext with a warning, on a
 * loopback bind or with insecurePlaintext only, see config.ts); `stop()`
 * closes the edges, writes pending audit rows, then closes the store.
 *
 * `createFakeControlPlane()` is the same wiring on an in-memory SQLite
 * store and free ports (tests, the local mesh).
 */
import type { KeyObject } from 'node:crypto';
import { AtpError } from '@mercato/platform/errors';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import { metricsExposition } from '@mercato/platform/metrics';
import { parsePublicKey } from '@mercato/proto/v1/bundle-signature';
import { loadTrustedKeys } from '@mercato/proto/v1/trusted-keys';
import { AdminHttpServer } from './api/admin-http-server.js';
import { AdminReads, type TrustInfo } from './api/admin-reads.js';
import { AuditRetention } from './audit/audit-retention.js';
import { ANONYMOUS_ACTOR, RefusalAudit } from './audit/refusal-audit.js';
import { AuthFailureLimiter } from './auth/auth-failure-limiter.js';
import { Authenticator } from './auth/authenticator.js';
import { ChangeService } from './changes/change-service.js';
import { type ControlPlaneConfig, validateControlPlaneConfig } from './config.js';
import { type ConsoleFeed, createConsoleFeed } from './console/console-feed.js';
import { controlErrorOf, ERR } from './errors.js';
import { ControlMetrics } from './metrics.js';
import { loadSnapshotSigner, type SnapshotSigner } from './snapshot/snapshot-signer.js';
import type { ControlStore } from './store/control-store.js';
import { createControlStore, createFakeControlStore } from './store/create-control-store.js';
import { grpcServerCredentials, loadTlsMaterial, type TlsMaterial } from './tls-material.js';
import { WatchHub } from './watch/watch-hub.js';
import { type WatchRefusal, WatchServer } from './watch/watch-server.js';

export interface ControlPlaneDeps {
  logger?: Logger;
  clock?: () => number;
  /** Use this store instead of the configured one (createFakeControlPlane). */
  store?: ControlStore;
}

export interface ControlPlane {
  readonly store: ControlStore;
  readonly changes: ChangeService;
  readonly hub: WatchHub;
  readonly watch: WatchServer;
  readonly http: AdminHttpServer;
  readonly metrics: ControlMetrics;
  readonly refusals: RefusalAudit;
  readonly retention: AuditRetention;
  readonly trustedKeys: readonly KeyObject[];
  /** The operator console's scraper and overview streams (config.scrape; `npm start` adds its sidecar). */
  readonly console: ConsoleFeed;
  /** The snapshot signing key once started (its public half is what sidecars trust). */
  readonly signer: SnapshotSigner;
  /** Admin API base URL once started (https:// with a certificate). */
  readonly url: string;
  /** host:port of the watch stream once started. */
  readonly grpcAddress: string;
  start(): Promise<{ httpPort: number; grpcPort: number }>;
  stop(): Promise<void>;
}

export function createControlPlane(config: ControlPlaneConfig, deps: ControlPlaneDeps = {}): ControlPlane {
  const logger = deps.logger ?? silentLogger();
  const clock = deps.clock ?? Date.now;
  const store = deps.store ?? createControlStore(config.store);
  const trustedKeys: KeyObject[] = [];
  const authenticator = new Authenticator(store, clock);
  const limiter = new AuthFailureLimiter(config.authFailureBurst, config.authFailureRefillPerS, clock);
  // Read at scrape time only, once the watch server below exists.
  const metrics = new ControlMetrics(() => ws.watchers().length);
  const hub = new WatchHub(store, config.watchPollMs, (err) => {
    const e = controlErrorOf(err);
    logger.warn({ code: e.code, err: e.message }, 'store poll failed');
  });
  const refusals = new RefusalAudit({
    store,
    clock,
    anonymousPerMinute: config.anonymousAuditPerMinute,
    principalPerMinute: config.principalAuditPerMinute,
    onWriteFailed: (entry, err) =>
      logger.error(
        { code: entry.code, auditCode: controlErrorOf(err).code, entry, err: err.message },
        'refusal not audited: store unreachable',
      ),
  });
  const retention = new AuditRetention({
    store,
    clock,
    retentionDays: config.auditRetentionDays,
    maxRows: config.auditMaxRows,
    onError: (err) =>
      logger.warn({ code: controlErrorOf(err).code, err: String(err) }, 'audit retention failed'),
    onPruned: (p) => logger.info({ event: 'audit_pruned', ...p }, 'audit log trimmed'),
  });
  const changes = new ChangeService({
    store,
    authenticator,
    trustedKeys,
    refusals,
    clock,
    onPublished: (s) => {
      metrics.snapshotVersion.set(s.version);
      hub.publish(s);
    },
    onCommitted: (action, target) => {
      // Before the revoking caller hears "accepted": no event reaches a revoked token's streams after that.
      if (action === 'token.revoke') ws.closeStreamsOf(target, 'was revoked');
    },
    onOutcome: (action, outcome, code, actor) => {
      metrics.changes.inc({ action, outcome, code: code ?? '' });
      // Anonymous refusals are counted (metrics, audit), not logged one by one: a flood must not flood the log.
      if (outcome === 'refused' && actor === ANONYMOUS_ACTOR) return;
      const log = { event: 'change', action, outcome, actor, ...(code === null ? {} : { code }) };
      if (outcome === 'accepted') logger.info(log, 'change accepted');
      else logger.warn(log, 'change refused');
    },
  });
  const ws = new WatchServer({
    hub,
    authenticator,
    store,
    limiter,
    host: config.host,
    port: config.grpcPort,
    heartbeatMs: config.watchHeartbeatMs,
    maxStreamsPerToken: config.maxStreamsPerToken,
    clock,
    onRefused: (r) => onWatchRefused(r),
  });
  hub.onRevocations = () => ws.revalidate();
  const onWatchRefused = (r: WatchRefusal) => {
    metrics.watchRefused.inc({ code: r.error.code });
    const fate = refusals.record(
      {
        atMs: clock(),
        actor: r.principal?.name ?? ANONYMOUS_ACTOR,
        role: r.principal?.role ?? null,
        action: 'watch',
        target: '',
        reason: null,
        outcome: 'refused',
        code: r.error.code,
        message: r.error.message.slice(0, 1_024),
        detail: { source: r.peer },
        snapshotVersion: null,
      },
      r.source,
    );
    // Logged only while audited one by one: a flood of refused streams must not flood the log.
    if (fate === 'audited')
      logger.warn({ event: 'watch_refused', code: r.error.code, peer: r.peer }, 'watch refused');
  };
  let signer: SnapshotSigner | null = null;
  let tls: TlsMaterial | null = null;
  const trust: TrustInfo = { signingKeyId: '', signingPublicKeyPath: null, transport: 'plaintext' };
  const startedAtMs = clock();
  const reads = new AdminReads({
    store,
    hub,
    watchers: () => ws.watchers(),
    startedAtMs,
    trustedKeys,
    trust,
    refusals,
    clock,
  });
  let ready = false;
  const consoleFeed = createConsoleFeed(config.scrape, {
    onError: (t, err) =>
      logger.debug({ event: 'scrape_failed', target: t.url, err: err.message }, 'scrape failed'),
  });
  const http = new AdminHttpServer({
    console: consoleFeed,
    changes,
    reads,
    authenticator,
    limiter,
    host: config.host,
    port: config.httpPort,
    isReady: () => ready && hub.pollFailures === 0,
    metrics: () => metricsExposition(metrics.registry),
    onError: (e, path) => {
      if (e.spec.httpStatus >= 500) logger.error({ code: e.code, path, err: e.message }, 'request failed');
    },
  });
  let started = false;
  return {
    store,
    changes,
    hub,
    watch: ws,
    http,
    metrics,
    refusals,
    retention,
    trustedKeys,
    console: consoleFeed,
    get signer() {
      if (signer === null) throw new Error('the control plane is not started');
      return signer;
    },
    get url() {
      return `${http.scheme}://${hostForUrl(config.host)}:${http.port}`;
    },
    get grpcAddress() {
      return `${hostForUrl(config.host)}:${ws.port}`;
    },
    async start() {
      if (started) return { httpPort: http.port, grpcPort: ws.port };
      started = true;
      loadTrust(config, trustedKeys, logger);
      signer = loadSnapshotSigner({
        path: config.signingKeyPath,
        pem: config.signingKeyPem,
        stateDir: config.stateDir,
      });
      trust.signingKeyId = signer.keyId;
      trust.signingPublicKeyPath = signer.publicKeyPath;
      logger.info(
        {
          event: 'snapshot_signing_key',
          keyId: signer.keyId,
          source: signer.source,
          publicKey: signer.publicKeyPath,
        },
        signer.source === 'ephemeral'
          ? 'snapshot signing key generated for this process only (no state dir): sidecars must trust it anew after a restart'
          : 'snapshot signing key loaded (sidecars trust its public half)',
      );
      tls = config.tls === null ? null : loadTlsMaterial(config.tls);
      trust.transport = tls === null ? 'plaintext' : tls.clientCa === null ? 'tls' : 'mtls';
      if (tls === null) {
        logger.warn(
          { code: ERR.CONFIG_INVALID.code, event: 'plaintext', host: config.host },
          config.insecurePlaintext
            ? `--insecure-plaintext: the admin API and the watch stream run in PLAINTEXT on ${config.host} and bearer tokens travel in clear over the network`
            : 'no --tls-cert: the admin API and the watch stream run in PLAINTEXT and bearer tokens travel in clear; loopback only, for local development',
        );
      }
      await store.open(clock());
      let latest = await changes.bootstrap();
      if (config.regions !== null) {
        const applied = await changes.applyRegions(config.regions, config.regionsSource ?? 'configuration');
        if (applied !== null) {
          logger.info(
            { event: 'regions', registryVersion: applied },
            'region registry from the configuration applied',
          );
          latest = await changes.bootstrap();
        }
      }
      const { skipped } = await changes.ensureTokens(config.bootstrapTokens);
      if (skipped.length > 0)
        logger.warn({ names: skipped }, 'bootstrap tokens not created: names already used by other tokens');
      metrics.snapshotVersion.set(latest.version);
      await hub.start(latest, signer);
      await refusals.start();
      await retention.start();
      const grpcPort = await ws.start(grpcServerCredentials(tls));
      const httpPort = await http.start(tls === null ? null : { cert: tls.cert, key: tls.key });
      await consoleFeed.start();
      ready = true;
      logger.info(
        {
          event: 'listening',
          httpPort,
          grpcPort,
          store: store.location,
          version: latest.version,
          transport: trust.transport,
          ...(tls === null ? {} : { certificate: tls.subject, certificateValidTo: tls.validTo }),
        },
        'listening',
      );
      return { httpPort, grpcPort };
    },
    async stop() {
      ready = false;
      await consoleFeed.stop();
      await http.stop();
      await ws.stop();
      await hub.stop();
      await retention.stop();
      await refusals.stop().catch(() => undefined);
      await store.close();
      started = false;
    },
  };
}

/** The trusted bundle keys from files and inline PEM; none is allowed but every push is then refused. */
function loadTrust(config: ControlPlaneConfig, trustedKeys: KeyObject[], logger: Logger): void {
  trustedKeys.length = 0;
  try {
    trustedKeys.push(...loadTrustedKeys(config.trustedKeyPaths));
    for (const [i, pem] of config.trustedKeysPem.entries()) {
      trustedKeys.push(parsePublicKey(pem, `trustedKeysPem[${i}]`));
    }
  } catch (err) {
    throw new AtpError(ERR.CONFIG_INVALID, (err as Error).message, 'trustedKeys', { cause: err });
  }
  if (trustedKeys.length === 0)
    logger.warn(
      { code: ERR.CONFIG_INVALID.code },
      'no trusted signing keys: every model push will be refused',
    );
}

/** In-memory SQLite, free ports on 127.0.0.1; `overrides` as for validateControlPlaneConfig. */
export function createFakeControlPlane(
  overrides: Record<string, unknown> = {},
  deps: ControlPlaneDeps = {},
): ControlPlane {
  const config = validateControlPlaneConfig({
    db: 'sqlite::memory:',
    httpPort: 0,
    grpcPort: 0,
    ...overrides,
  });
  return createControlPlane(config, {
    ...deps,
    store: deps.store ?? (overrides.db === undefined ? createFakeControlStore() : undefined),
  });
}

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
