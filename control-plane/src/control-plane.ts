/**
 * Factory of a control plane: store, change service, snapshot hub, the
 * watch gRPC server and the admin HTTP server. Nothing runs at import;
 * `start()` opens the store (creating the schema), publishes version 1 on a
 * fresh store, creates configured tokens and binds both ports; `stop()`
 * closes the edges, then the store.
 *
 * `createFakeControlPlane()` is the same wiring on an in-memory SQLite
 * store and free ports (tests, the local mesh).
 */
import type { KeyObject } from 'node:crypto';
import { parsePublicKey } from '@mercato/proto/v1/bundle-signature';
import { loadTrustedKeys } from '@mercato/proto/v1/trusted-keys';
import type { Logger } from 'pino';
import { pino } from 'pino';
import { AdminHttpServer } from './api/admin-http-server.js';
import { AdminReads } from './api/admin-reads.js';
import { Authenticator } from './auth/authenticator.js';
import { ChangeService } from './changes/change-service.js';
import { type ControlPlaneConfig, validateControlPlaneConfig } from './config.js';
import { ControlError, ERR } from './errors.js';
import { ControlMetrics } from './metrics.js';
import type { ControlStore } from './store/control-store.js';
import { createControlStore, createFakeControlStore } from './store/create-control-store.js';
import { WatchHub } from './watch/watch-hub.js';
import { WatchServer } from './watch/watch-server.js';

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
  readonly trustedKeys: readonly KeyObject[];
  /** Admin API base URL once started. */
  readonly url: string;
  /** host:port of the watch stream once started. */
  readonly grpcAddress: string;
  start(): Promise<{ httpPort: number; grpcPort: number }>;
  stop(): Promise<void>;
}

export function createControlPlane(config: ControlPlaneConfig, deps: ControlPlaneDeps = {}): ControlPlane {
  const logger = deps.logger ?? pino({ level: 'silent' });
  const clock = deps.clock ?? Date.now;
  const store = deps.store ?? createControlStore(config.store);
  const trustedKeys: KeyObject[] = [];
  const authenticator = new Authenticator(store);
  let watch: WatchServer | null = null;
  const metrics = new ControlMetrics(() => watch?.watchers().length ?? 0);
  const hub = new WatchHub(store, config.watchPollMs, (err) =>
    logger.warn(
      { code: (err as ControlError).code ?? ERR.INTERNAL.code, err: err.message },
      'store poll failed',
    ),
  );
  const changes = new ChangeService({
    store,
    authenticator,
    trustedKeys,
    clock,
    onPublished: (s) => {
      metrics.snapshotVersion.set(s.version);
      hub.publish(s);
    },
    onOutcome: (action, outcome, code, actor) => {
      metrics.changes.inc({ action, outcome, code: code ?? '' });
      const log = { event: 'change', action, outcome, actor, ...(code === null ? {} : { code }) };
      if (outcome === 'accepted') logger.info(log, 'change accepted');
      else logger.warn(log, 'change refused');
    },
    onAuditFailed: (entry, err) =>
      logger.error(
        { code: entry.code, auditCode: (err as ControlError).code, entry, err: err.message },
        'refusal not audited: store unreachable',
      ),
  });
  watch = new WatchServer({
    hub,
    authenticator,
    host: config.host,
    port: config.grpcPort,
    heartbeatMs: config.watchHeartbeatMs,
    clock,
    onRefused: (code, peer) => {
      metrics.watchRefused.inc({ code });
      logger.warn({ event: 'watch_refused', code, peer }, 'watch refused');
    },
  });
  const startedAtMs = clock();
  const reads = new AdminReads(store, hub, () => watch!.watchers(), startedAtMs);
  let ready = false;
  const http = new AdminHttpServer({
    changes,
    reads,
    authenticator,
    host: config.host,
    port: config.httpPort,
    isReady: () => ready && hub.pollFailures === 0,
    metrics: async () => ({
      contentType: metrics.registry.contentType,
      body: await metrics.registry.metrics(),
    }),
    onError: (e, path) => {
      if (e.spec.httpStatus >= 500) logger.error({ code: e.code, path, err: e.message }, 'request failed');
    },
  });
  let started = false;
  const ws = watch;
  return {
    store,
    changes,
    hub,
    watch: ws,
    http,
    metrics,
    trustedKeys,
    get url() {
      return `http://${hostForUrl(config.host)}:${http.port}`;
    },
    get grpcAddress() {
      return `${hostForUrl(config.host)}:${ws.port}`;
    },
    async start() {
      if (started) return { httpPort: http.port, grpcPort: ws.port };
      started = true;
      try {
        trustedKeys.push(...loadTrustedKeys(config.trustedKeyPaths));
        for (const [i, pem] of config.trustedKeysPem.entries()) {
          trustedKeys.push(parsePublicKey(pem, `trustedKeysPem[${i}]`));
        }
      } catch (err) {
        throw new ControlError(ERR.CONFIG_INVALID, (err as Error).message, 'trustedKeys');
      }
      if (trustedKeys.length === 0)
        logger.warn(
          { code: ERR.CONFIG_INVALID.code },
          'no trusted signing keys: every model push will be refused',
        );
      await store.open(clock());
      const latest = await changes.bootstrap();
      const { skipped } = await changes.ensureTokens(config.bootstrapTokens);
      if (skipped.length > 0)
        logger.warn({ names: skipped }, 'bootstrap tokens not created: names already used by other tokens');
      metrics.snapshotVersion.set(latest.version);
      await hub.start(latest);
      const grpcPort = await ws.start();
      const httpPort = await http.start();
      ready = true;
      logger.info(
        { event: 'listening', httpPort, grpcPort, store: store.location, version: latest.version },
        'listening',
      );
      return { httpPort, grpcPort };
    },
    async stop() {
      ready = false;
      await http.stop();
      await ws.stop();
      hub.stop();
      await store.close();
      started = false;
    },
  };
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
