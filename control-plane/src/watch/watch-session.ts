/**
 * One admitted watch stream. First event: a delta from the caller's
 * version when this control plane still holds it with the same hash, a
 * heartbeat when the caller is current, else the full snapshot. Then a
 * delta per new version; when the caller reads slowly, versions are
 * coalesced (the next delta goes from what it last sent to the latest).
 * A heartbeat every `heartbeatMs` lets the client tell a quiet stream from
 * a dead one. Every snapshot and delta is signed (WatchHub).
 *
 * On a WatchAndAck stream the sidecar acknowledges the version and hash it
 * SERVES after each event; `status.ack` holds the last one, which is what
 * `atpctl status` reports (finding 1: the version sent is not the version
 * applied).
 */
import * as grpc from '@grpc/grpc-js';
import { AtpError } from '@mercato/platform/errors';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import { parseWatchAck, type WatchAck } from '@mercato/proto/v1/watch-ack';
import { ERR } from '../errors.js';
import type { AdmittedWatcher } from './watch-admission.js';
import type { WatchHub } from './watch-hub.js';
import type { WatchAckMsg, WatchEventMsg, WatchRequestMsg } from './watch-proto.js';

export interface WatcherStatus extends AdmittedWatcher {
  peer: string;
  /** Subject CN of the client certificate (mTLS); null without one. */
  tlsPeer: string | null;
  protocol: 'watch' | 'watch-and-ack';
  connectedAtMs: number;
  /** When the stream's token expires (the stream ends then): status warns before it does. */
  tokenExpiresAtMs: number | null;
  /** Version last sent to it. */
  sentVersion: number;
  /** The last acknowledgement (what it says it serves); null: none yet (or a plain Watch). */
  ack: (WatchAck & { receivedAtMs: number }) | null;
  acks: number;
  /** Acks that did not parse (ignored). */
  badAcks: number;
}

export interface WatchSessionOptions {
  call: grpc.ServerWritableStream<unknown, WatchEventMsg> | grpc.ServerDuplexStream<unknown, WatchEventMsg>;
  hub: WatchHub;
  status: WatcherStatus;
  heartbeatMs: number;
  clock: () => number;
  /** When the stream's token expires (checked before every event; the server also arms a timer); null: never. */
  expiresAtMs: number | null;
  onClosed: (s: WatchSession) => void;
}

export class WatchSession {
  readonly status: WatcherStatus;
  private lastSent: ControlSnapshot | null = null;
  private waitingDrain = false;
  private closed = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly opts: WatchSessionOptions) {
    this.status = opts.status;
    const call = opts.call;
    call.on('drain', () => {
      this.waitingDrain = false;
      this.catchUp();
    });
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
    call.on('error', () => this.close());
  }

  /** Sends the first event and follows the hub from then on. */
  async start(req: WatchRequestMsg): Promise<void> {
    const hub = this.opts.hub;
    const fromVersion = Number(req.from_version ?? 0);
    const latest = hub.latest;
    if (fromVersion === latest.version && req.content_hash === latest.contentHash) {
      this.lastSent = latest;
      this.status.sentVersion = latest.version;
      this.heartbeat();
    } else {
      const base = fromVersion > 0 && fromVersion < latest.version ? await hub.snapshotAt(fromVersion) : null;
      if (this.closed) return;
      if (base !== null && base.contentHash === req.content_hash) this.sendDelta(base, hub.latest);
      else this.sendFull(hub.latest);
    }
    if (this.closed) return;
    this.unsubscribe = hub.subscribe(() => this.catchUp());
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.opts.heartbeatMs);
    this.heartbeatTimer.unref();
    // A version published while this stream was being set up.
    this.catchUp();
  }

  /** An `ack` message from the sidecar: kept when it parses, counted and ignored when not. */
  onAck(raw: WatchAckMsg): void {
    if (this.closed) return;
    try {
      const ack = parseWatchAck(raw);
      this.status.ack = { ...ack, receivedAtMs: this.opts.clock() };
      this.status.acks++;
    } catch {
      this.status.badAcks++;
    }
  }

  setExpiryTimer(timer: NodeJS.Timeout): void {
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.expiryTimer = timer;
    timer.unref();
  }

  /** A copy of the status (what `atpctl status` lists). */
  snapshotStatus(): WatcherStatus {
    return { ...this.status, ack: this.status.ack === null ? null : { ...this.status.ack } };
  }

  /** Ends the stream: cleanly, or with `error` (its gRPC status and `atp-error-code`). Idempotent. */
  close(error?: AtpError): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    this.unsubscribe?.();
    this.opts.onClosed(this);
    const call = this.opts.call;
    if (error === undefined) {
      call.end();
      return;
    }
    const md = new grpc.Metadata();
    md.set('atp-error-code', error.code);
    call.emit('error', { code: error.spec.grpcStatus, details: error.message, metadata: md });
  }

  /** False (and the stream ended) once the token has expired: nothing more goes out on it. */
  private live(): boolean {
    if (this.closed) return false;
    const exp = this.opts.expiresAtMs;
    if (exp !== null && exp <= this.opts.clock()) {
      this.close(
        new AtpError(
          ERR.UNAUTHENTICATED,
          `token "${this.status.principal}" expired at ${new Date(exp).toISOString()}`,
        ),
      );
      return false;
    }
    return true;
  }

  private sendFull(s: ControlSnapshot): void {
    if (!this.live()) return;
    this.waitingDrain = !this.opts.call.write({
      snapshot: { version: s.version, content_hash: s.contentHash, snapshot_json: this.opts.hub.latestJson },
    });
    this.lastSent = s;
    this.status.sentVersion = s.version;
  }

  private sendDelta(from: ControlSnapshot, to: ControlSnapshot): void {
    if (!this.live()) return;
    this.waitingDrain = !this.opts.call.write({
      delta: {
        from_version: from.version,
        to_version: to.version,
        content_hash: to.contentHash,
        delta_json: this.opts.hub.deltaJson(from, to),
      },
    });
    this.lastSent = to;
    this.status.sentVersion = to.version;
  }

  private heartbeat(): void {
    if (!this.live() || this.waitingDrain) return;
    const s = this.opts.hub.latest;
    this.opts.call.write({
      heartbeat: { version: s.version, content_hash: s.contentHash, server_time_ms: this.opts.clock() },
    });
  }

  /** Brings the caller to the latest version unless it is still reading the previous write. */
  private catchUp(): void {
    if (this.closed || this.waitingDrain) return;
    const latest = this.opts.hub.latest;
    if (this.lastSent === null || this.lastSent.version >= latest.version) return;
    this.sendDelta(this.lastSent, latest);
  }
}
