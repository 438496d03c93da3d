/**
 * The sidecar's end of the control-plane watch stream
 * (proto/v1/control.proto). Keeps one current, validated ControlSnapshot:
 *
 * - start(): loads the last good snapshot from disk and hands it to
 *   `onSnapshot` at once (so a restarted sidecar never serves the embedded
 *   default while a kill switch is set), then connects.
 * - Every full snapshot is parsed with parseControlSnapshot; every delta is
 *   applied to the held snapshot. Either result is then checked by
 *   `checkSnapshot` (snapshot-trust.ts: the control plane's ed25519
 *   signature, the recomputed content hash, the version chained to the
 *   held one) BEFORE it is applied or persisted. Anything refused is kept
 *   out (counted per code, logged, acknowledged with its code) and the last
 *   good snapshot stays in force; a delta that does not fit makes the
 *   client resume with a full snapshot.
 * - The persisted snapshot is checked the same way at start; one that fails
 *   is discarded loudly (error log, counter, the file moved aside) and the
 *   embedded default serves until the control plane answers.
 * - Versions only move forward; one version never has two contents.
 * - Each accepted snapshot goes to `onSnapshot` first, then to disk.
 * - The stream is WatchAndAck: after connecting and after every applied or
 *   refused event the client acknowledges the version and hash it SERVES,
 *   so the control plane reports what is applied, not what it sent.
 * - The stream resumes from the held version; reconnects back off
 *   exponentially from INITIAL_BACKOFF_MS to MAX_BACKOFF_MS (with jitter),
 *   and a stream silent for STALE_STREAM_MS (three missed heartbeats) is
 *   dropped and reopened.
 */

import type { KeyObject } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { AtpError, type ErrorSpec } from '@mercato/platform/errors';
import { type Logger, silentLogger } from '@mercato/platform/logger';
import { type ControlSnapshot, parseControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { applySnapshotDelta, DeltaMismatchError } from '@mercato/proto/v1/snapshot-delta';
import { watchAck } from '@mercato/proto/v1/watch-ack';
import { CONTROL_ERR } from './control-errors.js';
import {
  type ClientMsg,
  type EventMsg,
  type WatchClientCtor,
  watchServiceCtor,
} from './control-watch-proto.js';
import type { SnapshotPersistence } from './snapshot-persistence.js';
import { checkSnapshot } from './snapshot-trust.js';

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
  /**
   * Public keys that verify the control plane's snapshot signatures;
   * null = unsigned snapshots accepted (`--control-insecure-unsigned-snapshots`).
   */
  snapshotKeys: readonly KeyObject[] | null;
  /** Channel credentials (TLS / mTLS); default: plaintext. */
  credentials?: grpc.ChannelCredentials;
  /** Called for every refused snapshot, delta or persisted file, with its code (metrics). */
  onRefused?: (code: string, source: SnapshotSource) => void;
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
  /** Snapshots and deltas kept out (invalid, unsigned, forged, stale, forked, mismatching). */
  invalid: number;
  /** Refusals per code (ATP_ERR_SNAPSHOT_SIGNATURE_INVALID, ATP_ERR_SNAPSHOT_FORK, ...). */
  refusedByCode: Record<string, number>;
  /** Persisted snapshots discarded at start because they failed verification. */
  persistedDiscarded: number;
  /** Acknowledgements written to the control plane. */
  acks: number;
  /** Id of the key that signed the snapshot in force (null: unsigned mode, or none held). */
  keyId: string | null;
  reconnects: number;
  persistFailures: number;
  lastErrorCode: string | null;
  lastEventAtMs: number;
  /** Where the held snapshot came from. */
  source: SnapshotSource | null;
}

export class ControlWatchClient {
  private snapshot: ControlSnapshot | null = null;
  private client: InstanceType<WatchClientCtor> | null = null;
  private call: grpc.ClientDuplexStream<ClientMsg, EventMsg> | null = null;
  private appliedAtMs = 0;
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
    refusedByCode: {},
    persistedDiscarded: 0,
    acks: 0,
    keyId: null,
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
    this.loadPersisted();
    this.connect();
  }

  /**
   * The persisted snapshot, verified like one from the stream (nothing
   * held yet): applied when it passes; otherwise discarded loudly and moved
   * aside, so the embedded default serves until the control plane answers.
   */
  private loadPersisted(): void {
    const persistence = this.opts.persistence;
    if (persistence === null) return;
    const loaded = persistence.load();
    let error = loaded.snapshot === null ? loaded.error : null;
    if (loaded.snapshot !== null) {
      try {
        this.stats.keyId = checkSnapshot(loaded.snapshot, null, this.opts.snapshotKeys).keyId;
      } catch (err) {
        error = asControlError(err);
      }
    }
    if (error === null && loaded.snapshot !== null) {
      this.accept(loaded.snapshot, 'disk');
      this.log.info(
        { event: 'control_snapshot_loaded', version: loaded.snapshot.version, path: persistence.path },
        'last good control snapshot loaded from disk',
      );
      return;
    }
    if (error === null) return;
    this.stats.persistedDiscarded++;
    this.reject(error, 'disk');
    const movedTo = persistence.discard();
    this.log.error(
      { event: 'control_snapshot_discarded', code: error.code, path: persistence.path, movedTo },
      'persisted control snapshot failed verification: discarded, serving the embedded default until the control plane answers',
    );
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
      const creds = this.opts.credentials ?? grpc.credentials.createInsecure();
      this.client = new (watchServiceCtor())(this.opts.address, creds, {
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
    const call = this.client.WatchAndAck(md);
    call.write({
      watch: {
        from_version: String(held?.version ?? 0),
        content_hash: held?.contentHash ?? '',
        sidecar_id: this.opts.sidecarId,
        region: this.opts.region,
      },
    });
    this.call = call;
    // What it serves right now (the persisted snapshot, or the embedded default: version 0).
    this.ack();
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
      if (ev.snapshot !== undefined && ev.snapshot !== null) {
        this.onFull(ev.snapshot);
        this.ack();
      } else if (ev.delta !== undefined && ev.delta !== null) {
        this.onDelta(ev.delta);
        this.ack();
      } else if (ev.heartbeat !== undefined && ev.heartbeat !== null) this.onHeartbeat(ev.heartbeat);
      // A good event means the link works: the next outage starts from the shortest backoff again.
      this.backoffMs = this.opts.initialBackoffMs ?? INITIAL_BACKOFF_MS;
    } catch (err) {
      const e = asControlError(err);
      this.reject(e, 'stream');
      this.ack({ code: e.code, version: refusedVersion(ev) });
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
    if (String(s.version) !== String(m.version)) {
      throw new AtpError(
        CONTROL_ERR.SNAPSHOT_INVALID,
        `full snapshot announced as ${m.version} carries version ${s.version}`,
        'version',
      );
    }
    const verdict = checkSnapshot(s, this.snapshot, this.opts.snapshotKeys);
    this.forceFull = false;
    if (verdict.same) return;
    this.stats.keyId = verdict.keyId;
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
    this.stats.keyId = checkSnapshot(next, held, this.opts.snapshotKeys).keyId;
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
    this.appliedAtMs = Date.now();
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

  private reject(e: AtpError, source: SnapshotSource): void {
    this.stats.invalid++;
    this.stats.lastErrorCode = e.code;
    this.stats.refusedByCode[e.code] = (this.stats.refusedByCode[e.code] ?? 0) + 1;
    this.opts.onRefused?.(e.code, source);
    this.log.error(
      { code: e.code, field: e.field, err: e.message, keptVersion: this.snapshot?.version ?? null },
      'control snapshot kept out',
    );
  }

  /** Tells the control plane what this sidecar serves now (and what it just refused, if anything). */
  private ack(refused?: { code: string; version: number }): void {
    const call = this.call;
    if (call === null) return;
    call.write(watchAck(this.snapshot, this.appliedAtMs, refused));
    this.stats.acks++;
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

function asControlError(err: unknown): AtpError {
  return err instanceof AtpError
    ? err
    : new AtpError(CONTROL_ERR.SNAPSHOT_INVALID, (err as Error).message, (err as { field?: string }).field);
}

function refusedVersion(ev: EventMsg): number {
  const v = Number(ev.snapshot?.version ?? ev.delta?.to_version ?? 0);
  return Number.isSafeInteger(v) && v >= 0 ? v : 0;
}
