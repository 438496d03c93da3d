/**
 * The sidecar's end of the control-plane watch stream
 * (proto/v1/control.proto). Keeps one current, validated ControlSnapshot:
 *
 * - start(): loads the last good snapshot from disk and hands it to
 *   `onSnapshot` at once (so a restarted sidecar never serves the embedded
 *   default while a kill switch is set), then connects.
 * - Every full snapshot is parsed with parseControlSnapshot and its content
 *   hash recomputed; every delta is applied to the held snapshot and must
 *   reproduce the announced hash. Anything invalid is kept out (counted,
 *   logged with its code) and the last good snapshot stays in force; a
 *   delta that does not fit makes the client resume with a full snapshot.
 * - Versions only move forward: an older full snapshot is refused.
 * - Each accepted snapshot goes to `onSnapshot` first, then to disk.
 * - The stream resumes from the held version; reconnects back off
 *   exponentially from INITIAL_BACKOFF_MS to MAX_BACKOFF_MS (with jitter),
 *   and a stream silent for STALE_STREAM_MS (three missed heartbeats) is
 *   dropped and reopened.
 */

import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { AtpError, type ErrorSpec } from '@mercato/platform/errors';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import { type ControlSnapshot, parseControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import { applySnapshotDelta, DeltaMismatchError } from '@mercato/proto/v1/snapshot-delta';
import { CONTROL_ERR } from './control-errors.js';
import type { SnapshotPersistence } from './snapshot-persistence.js';

export const CONTROL_PROTO_PATH = fileURLToPath(new URL('../../../proto/v1/control.proto', import.meta.url));
export const INITIAL_BACKOFF_MS = 200;
export const MAX_BACKOFF_MS = 5_000;
export const BACKOFF_MULTIPLIER = 2;
/** ± share of each backoff, so a fleet does not reconnect in lockstep after an outage. */
export const BACKOFF_JITTER = 0.2;
/** Three missed heartbeats (the server sends one every 5 s). */
export const STALE_STREAM_MS = 15_000;
export const GRPC_KEEPALIVE_TIME_MS = 10_000;
export const GRPC_KEEPALIVE_TIMEOUT_MS = 5_000;
export const MAX_WATCH_MESSAGE_BYTES = 256 * 1024 * 1024;

export type SnapshotSource = 'disk' | 'stream';

export interface ControlWatchClientOptions {
  /** host:port of the control plane's watch gRPC server. */
  address: string;
  /** Bearer token (role viewer or above). */
  token: string;
  region: string;
  sidecarId: string;
  /** Where the last good snapshot lives; null = memory only. */
  persistence: SnapshotPersistence | null;
  /** Called with every accepted snapshot, in version order (ControlState.setSnapshot, the model follower). */
  onSnapshot: (s: ControlSnapshot, source: SnapshotSource) => void;
  logger?: Logger;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  staleStreamMs?: number;
}

export interface ControlWatchStats {
  connected: boolean;
  version: number;
  contentHash: string;
  fullSnapshots: number;
  deltas: number;
  heartbeats: number;
  /** Snapshots and deltas kept out (invalid, stale, mismatching). */
  invalid: number;
  reconnects: number;
  persistFailures: number;
  lastErrorCode: string | null;
  lastEventAtMs: number;
  /** Where the held snapshot came from. */
  source: SnapshotSource | null;
}

interface EventMsg {
  snapshot?: { version: string; content_hash: string; snapshot_json: Buffer };
  delta?: { from_version: string; to_version: string; content_hash: string; delta_json: Buffer };
  heartbeat?: { version: string; content_hash: string; server_time_ms: string };
}

type WatchClientCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client & {
  Watch(req: Record<string, unknown>, md: grpc.Metadata): grpc.ClientReadableStream<EventMsg>;
};

let serviceCtor: WatchClientCtor | null = null;
function watchServiceCtor(): WatchClientCtor {
  if (serviceCtor === null) {
    const def = protoLoader.loadSync(CONTROL_PROTO_PATH, {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      mercato: { atp: { v1: { ControlWatchService: WatchClientCtor } } };
    };
    serviceCtor = pkg.mercato.atp.v1.ControlWatchService;
  }
  return serviceCtor;
}

export class ControlWatchClient {
  private snapshot: ControlSnapshot | null = null;
  private client: InstanceType<WatchClientCtor> | null = null;
  private call: grpc.ClientReadableStream<EventMsg> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private staleTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private running = false;
  /** Set after a mismatch: the next connection asks for a full snapshot. */
  private forceFull = false;
  private readonly log: Logger;
  private readonly waiters: { version: number; resolve: () => void }[] = [];
  readonly stats: ControlWatchStats = {
    connected: false,
    version: 0,
    contentHash: '',
    fullSnapshots: 0,
    deltas: 0,
    heartbeats: 0,
    invalid: 0,
    reconnects: 0,
    persistFailures: 0,
    lastErrorCode: null,
    lastEventAtMs: 0,
    source: null,
  };

  constructor(private readonly opts: ControlWatchClientOptions) {
    this.backoffMs = opts.initialBackoffMs ?? INITIAL_BACKOFF_MS;
    this.log = opts.logger ?? silentLogger();
  }

  /** The snapshot in force (null until one was loaded from disk or received). */
  get current(): ControlSnapshot | null {
    return this.snapshot;
  }

  /** Loads the persisted snapshot (synchronously hands it to onSnapshot), then connects in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const loaded = this.opts.persistence?.load();
    if (loaded !== undefined) {
      if (loaded.snapshot !== null) {
        this.accept(loaded.snapshot, 'disk');
        this.log.info(
          {
            event: 'control_snapshot_loaded',
            version: loaded.snapshot.version,
            path: this.opts.persistence!.path,
          },
          'last good control snapshot loaded from disk',
        );
      } else if (loaded.error !== null) {
        this.reject(loaded.error);
      }
    }
    this.connect();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.clearStale();
    this.call?.cancel();
    this.call = null;
    this.client?.close();
    this.client = null;
    this.stats.connected = false;
    // The last good snapshot must be on disk before the process goes away.
    await this.opts.persistence?.flush();
  }

  /** Resolves once a snapshot with at least `version` is in force (tests, readiness gates). */
  waitForVersion(version: number, timeoutMs: number): Promise<void> {
    if ((this.snapshot?.version ?? -1) >= version) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `control snapshot ${version} not reached within ${timeoutMs} ms (at ${this.snapshot?.version ?? 'none'})`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        version,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  private connect(): void {
    if (!this.running) return;
    if (this.client === null) {
      this.client = new (watchServiceCtor())(this.opts.address, grpc.credentials.createInsecure(), {
        'grpc.max_receive_message_length': MAX_WATCH_MESSAGE_BYTES,
        'grpc.keepalive_time_ms': GRPC_KEEPALIVE_TIME_MS,
        'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE_TIMEOUT_MS,
        'grpc.keepalive_permit_without_calls': 1,
        // Our own backoff decides when to retry; the channel should not wait on its own longer one.
        'grpc.initial_reconnect_backoff_ms': this.opts.initialBackoffMs ?? INITIAL_BACKOFF_MS,
        'grpc.max_reconnect_backoff_ms': this.opts.maxBackoffMs ?? MAX_BACKOFF_MS,
      });
    }
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.opts.token}`);
    const held = this.forceFull ? null : this.snapshot;
    const call = this.client.Watch(
      {
        from_version: String(held?.version ?? 0),
        content_hash: held?.contentHash ?? '',
        sidecar_id: this.opts.sidecarId,
        region: this.opts.region,
      },
      md,
    );
    this.call = call;
    this.armStale();
    call.on('data', (ev: EventMsg) => {
      if (this.call !== call) return;
      this.onEvent(ev);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (this.call !== call) return;
      const refused = err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED;
      const spec: ErrorSpec = refused ? CONTROL_ERR.CONTROL_REFUSED : CONTROL_ERR.CONTROL_UNAVAILABLE;
      this.broken(new AtpError(spec, `watch stream: ${err.details || err.message}`), refused);
    });
    call.on('end', () => {
      if (this.call !== call) return;
      this.broken(
        new AtpError(CONTROL_ERR.CONTROL_UNAVAILABLE, 'watch stream ended by the control plane'),
        false,
      );
    });
  }

  private onEvent(ev: EventMsg): void {
    this.stats.lastEventAtMs = Date.now();
    this.armStale();
    if (!this.stats.connected) {
      this.stats.connected = true;
      this.log.info(
        { event: 'control_connected', address: this.opts.address, version: this.snapshot?.version ?? 0 },
        'control plane connected',
      );
    }
    try {
      if (ev.snapshot !== undefined && ev.snapshot !== null) this.onFull(ev.snapshot);
      else if (ev.delta !== undefined && ev.delta !== null) this.onDelta(ev.delta);
      else if (ev.heartbeat !== undefined && ev.heartbeat !== null) this.onHeartbeat(ev.heartbeat);
      // A good event means the link works: the next outage starts from the shortest backoff again.
      this.backoffMs = this.opts.initialBackoffMs ?? INITIAL_BACKOFF_MS;
    } catch (err) {
      const e =
        err instanceof AtpError
          ? err
          : new AtpError(
              CONTROL_ERR.SNAPSHOT_INVALID,
              (err as Error).message,
              (err as { field?: string }).field,
            );
      this.reject(e);
      if (e.code === CONTROL_ERR.DELTA_MISMATCH.code) this.resync();
    }
  }

  private onFull(m: NonNullable<EventMsg['snapshot']>): void {
    this.stats.fullSnapshots++;
    let s: ControlSnapshot;
    try {
      s = parseControlSnapshot(JSON.parse(Buffer.from(m.snapshot_json).toString('utf8')));
    } catch (err) {
      throw new AtpError(
        CONTROL_ERR.SNAPSHOT_INVALID,
        `full snapshot ${m.version}: ${(err as Error).message}`,
        (err as { field?: string }).field,
      );
    }
    const hash = snapshotContentHash(s);
    if (hash !== s.contentHash || String(s.version) !== String(m.version)) {
      throw new AtpError(
        CONTROL_ERR.SNAPSHOT_INVALID,
        `full snapshot ${m.version}: content hashes to ${hash}, announced ${s.contentHash}`,
        'content_hash',
      );
    }
    const held = this.snapshot;
    if (held !== null && s.version < held.version) {
      throw new AtpError(
        CONTROL_ERR.SNAPSHOT_STALE,
        `control plane sent version ${s.version}, older than the held ${held.version}; kept ${held.version} (a restored control plane database? see control-plane/README.md)`,
      );
    }
    this.forceFull = false;
    if (held !== null && held.version === s.version && held.contentHash === s.contentHash) return;
    this.accept(s, 'stream');
  }

  private onDelta(m: NonNullable<EventMsg['delta']>): void {
    this.stats.deltas++;
    const held = this.snapshot;
    if (held === null)
      throw new AtpError(CONTROL_ERR.DELTA_MISMATCH, `delta to ${m.to_version} but no snapshot is held`);
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(m.delta_json).toString('utf8'));
    } catch (err) {
      throw new AtpError(
        CONTROL_ERR.SNAPSHOT_INVALID,
        `delta to ${m.to_version}: not JSON (${(err as Error).message})`,
      );
    }
    let next: ControlSnapshot;
    try {
      next = applySnapshotDelta(held, raw);
    } catch (err) {
      if (err instanceof DeltaMismatchError) throw new AtpError(CONTROL_ERR.DELTA_MISMATCH, err.message);
      throw new AtpError(
        CONTROL_ERR.SNAPSHOT_INVALID,
        `delta to ${m.to_version}: ${(err as Error).message}`,
        (err as { field?: string }).field,
      );
    }
    this.accept(next, 'stream');
  }

  private onHeartbeat(m: NonNullable<EventMsg['heartbeat']>): void {
    this.stats.heartbeats++;
    const v = Number(m.version);
    const held = this.snapshot;
    // Behind with nothing on the way (e.g. the first event of a stream resumed at the current version
    // that then moved): resume, which yields the missing delta.
    if (held === null || v > held.version || (v === held.version && m.content_hash !== held.contentHash)) {
      if (v === held?.version) this.forceFull = true;
      this.resync();
    }
  }

  private accept(s: ControlSnapshot, source: SnapshotSource): void {
    this.snapshot = s;
    this.stats.version = s.version;
    this.stats.contentHash = s.contentHash;
    this.stats.source = source;
    try {
      this.opts.onSnapshot(s, source);
    } catch (err) {
      this.log.error({ code: 'ATP_ERR_INTERNAL', err: (err as Error).message }, 'onSnapshot listener failed');
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.version <= s.version) this.waiters.splice(i, 1)[0]!.resolve();
    }
    if (source === 'stream' && this.opts.persistence !== null) {
      this.opts.persistence.save(s).catch((err: AtpError) => {
        this.stats.persistFailures++;
        this.log.error({ code: err.code, err: err.message }, 'last good control snapshot not persisted');
      });
    }
    if (source === 'stream') {
      this.log.info(
        { event: 'control_snapshot_applied', version: s.version, contentHash: s.contentHash },
        'control snapshot applied',
      );
    }
  }

  private reject(e: AtpError): void {
    this.stats.invalid++;
    this.stats.lastErrorCode = e.code;
    this.log.error(
      { code: e.code, field: e.field, err: e.message, keptVersion: this.snapshot?.version ?? null },
      'control snapshot kept out',
    );
  }

  /** Drops the stream and reopens it at once (from the held version, or full after a mismatch). */
  private resync(): void {
    if (this.snapshot !== null && this.stats.lastErrorCode === CONTROL_ERR.DELTA_MISMATCH.code)
      this.forceFull = true;
    const call = this.call;
    this.call = null;
    call?.cancel();
    this.clearStale();
    this.stats.connected = false;
    this.stats.reconnects++;
    this.schedule(0);
  }

  private broken(e: AtpError, refused: boolean): void {
    this.call = null;
    this.clearStale();
    const wasConnected = this.stats.connected;
    this.stats.connected = false;
    this.stats.lastErrorCode = e.code;
    if (!this.running) return;
    if (wasConnected || refused) {
      this.log.warn(
        { code: e.code, err: e.message, servingVersion: this.snapshot?.version ?? null },
        refused
          ? 'control plane refused this sidecar; serving the last good snapshot'
          : 'control plane unreachable; serving the last good snapshot',
      );
    }
    this.stats.reconnects++;
    // A refused token will not fix itself quickly: wait the longest backoff.
    this.schedule(refused ? (this.opts.maxBackoffMs ?? MAX_BACKOFF_MS) : this.nextBackoff());
  }

  private nextBackoff(): number {
    const base = this.backoffMs;
    this.backoffMs = Math.min(this.opts.maxBackoffMs ?? MAX_BACKOFF_MS, base * BACKOFF_MULTIPLIER);
    return Math.round(base * (1 - BACKOFF_JITTER + Math.random() * 2 * BACKOFF_JITTER));
  }

  private schedule(ms: number): void {
    if (!this.running) return;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, ms);
    this.retryTimer.unref();
  }

  private armStale(): void {
    this.clearStale();
    this.staleTimer = setTimeout(() => {
      this.log.warn({ code: CONTROL_ERR.CONTROL_UNAVAILABLE.code }, 'watch stream silent; reconnecting');
      this.resync();
    }, this.opts.staleStreamMs ?? STALE_STREAM_MS);
    this.staleTimer.unref();
  }

  private clearStale(): void {
    if (this.staleTimer !== null) clearTimeout(this.staleTimer);
    this.staleTimer = null;
  }
}
