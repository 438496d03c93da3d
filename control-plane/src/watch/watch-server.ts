/**
 * gRPC ControlWatchService: one server-streaming Watch per sidecar.
 * First event: a delta from the caller's version when this control plane
 * still holds it with the same hash, a heartbeat when the caller is
 * current, else the full snapshot. Then a delta per new version; when the
 * caller reads slowly, versions are coalesced (the next delta goes from
 * what it last received to the latest). A heartbeat every
 * WATCH_HEARTBEAT_MS lets the client tell a quiet stream from a dead one.
 */
import * as grpc from '@grpc/grpc-js';
import type { ControlSnapshot } from '@mercato/proto/v1/control-snapshot';
import type { Authenticator } from '../auth/authenticator.js';
import { toControlError } from '../errors.js';
import type { WatchHub } from './watch-hub.js';
import { controlWatchService, MAX_WATCH_MESSAGE_BYTES, type WatchRequestMsg } from './watch-proto.js';

export const WATCH_HEARTBEAT_MS = 5_000;
export const GRPC_KEEPALIVE_TIME_MS = 10_000;
export const GRPC_KEEPALIVE_TIMEOUT_MS = 5_000;
/** stop() waits this long for streams to close before forcing the server down. */
export const WATCH_SHUTDOWN_GRACE_MS = 2_000;
const MAX_ID_LENGTH = 128;

export interface WatcherStatus {
  sidecarId: string;
  region: string;
  principal: string;
  peer: string;
  connectedAtMs: number;
  /** Version last sent to it. */
  version: number;
}

export interface WatchServerOptions {
  hub: WatchHub;
  authenticator: Authenticator;
  host?: string;
  port?: number;
  heartbeatMs?: number;
  clock?: () => number;
  onRefused?: (code: string, peer: string) => void;
}

type WatchCall = grpc.ServerWritableStream<WatchRequestMsg, unknown>;

export class WatchServer {
  private server: grpc.Server | null = null;
  private readonly streams = new Map<WatchCall, { status: WatcherStatus; close: () => void }>();
  port = 0;

  constructor(private readonly opts: WatchServerOptions) {}

  async start(): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_send_message_length': MAX_WATCH_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': GRPC_KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE_TIMEOUT_MS,
      'grpc.keepalive_permit_without_calls': 1,
    });
    server.addService(controlWatchService().service, {
      Watch: (call: WatchCall) => {
        this.watch(call).catch((err) => this.refuse(call, err));
      },
    });
    const addr = `${this.opts.host ?? '127.0.0.1'}:${this.opts.port ?? 0}`;
    this.port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(addr, grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of [...this.streams.values()]) s.close();
    if (server === null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, WATCH_SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  watchers(): WatcherStatus[] {
    return [...this.streams.values()].map((s) => ({ ...s.status }));
  }

  private async watch(call: WatchCall): Promise<void> {
    const auth = this.opts.authenticator;
    const header = call.metadata.get('authorization')[0];
    const principal = await auth.principal(typeof header === 'string' ? header : undefined);
    auth.authorize(principal, 'watch');
    const req = call.request;
    const fromVersion = Number(req.from_version ?? 0);
    const hub = this.opts.hub;
    const clock = this.opts.clock ?? Date.now;
    const status: WatcherStatus = {
      sidecarId: (req.sidecar_id || 'unknown').slice(0, MAX_ID_LENGTH),
      region: (req.region || 'unknown').slice(0, MAX_ID_LENGTH),
      principal: principal.name,
      peer: call.getPeer(),
      connectedAtMs: clock(),
      version: 0,
    };
    let lastSent: ControlSnapshot | null = null;
    let waitingDrain = false;
    let closed = false;

    const sendFull = (s: ControlSnapshot) => {
      waitingDrain = !call.write({
        snapshot: { version: s.version, content_hash: s.contentHash, snapshot_json: hub.latestJson },
      });
      lastSent = s;
      status.version = s.version;
    };
    const sendDelta = (from: ControlSnapshot, to: ControlSnapshot) => {
      waitingDrain = !call.write({
        delta: {
          from_version: from.version,
          to_version: to.version,
          content_hash: to.contentHash,
          delta_json: hub.deltaJson(from, to),
        },
      });
      lastSent = to;
      status.version = to.version;
    };
    const heartbeat = () => {
      if (closed || waitingDrain) return;
      const s = hub.latest;
      call.write({ heartbeat: { version: s.version, content_hash: s.contentHash, server_time_ms: clock() } });
    };
    // Brings the caller to the latest version unless it is still reading the previous write.
    const catchUp = () => {
      if (closed || waitingDrain) return;
      const latest = hub.latest;
      if (lastSent === null || lastSent.version >= latest.version) return;
      sendDelta(lastSent, latest);
    };

    const latest = hub.latest;
    if (fromVersion === latest.version && req.content_hash === latest.contentHash) {
      lastSent = latest;
      status.version = latest.version;
      heartbeat();
    } else {
      const base = fromVersion > 0 && fromVersion < latest.version ? await hub.snapshotAt(fromVersion) : null;
      if (base !== null && base.contentHash === req.content_hash) sendDelta(base, hub.latest);
      else sendFull(hub.latest);
    }

    const unsubscribe = hub.subscribe(() => catchUp());
    const timer = setInterval(heartbeat, this.opts.heartbeatMs ?? WATCH_HEARTBEAT_MS);
    timer.unref();
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      unsubscribe();
      this.streams.delete(call);
      call.end();
    };
    call.on('drain', () => {
      waitingDrain = false;
      catchUp();
    });
    call.on('cancelled', close);
    call.on('close', close);
    call.on('error', close);
    this.streams.set(call, { status, close });
    // A version published while this stream was being set up.
    catchUp();
  }

  private refuse(call: WatchCall, err: unknown): void {
    const e = toControlError(err);
    this.opts.onRefused?.(e.code, call.getPeer());
    const md = new grpc.Metadata();
    md.set('atp-error-code', e.code);
    call.emit('error', { code: e.spec.grpcStatus, details: e.message, metadata: md });
  }
}
