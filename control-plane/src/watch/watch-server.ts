/**
 * gRPC ControlWatchService: one stream per sidecar, `Watch` (server
 * streaming) or `WatchAndAck` (bidi: the sidecar acknowledges what it
 * applied). Each stream is admitted by WatchAdmission (token, role,
 * identity, stream cap) and then served by a WatchSession (first event,
 * deltas, heartbeats, acks).
 *
 * Transport: TLS when credentials say so (mTLS when they check client
 * certificates); plaintext only without a certificate (local dev).
 *
 * A token's streams end at once (UNAUTHENTICATED) when it is revoked here
 * (`closeStreamsOf`, called after the revocation's commit), on another
 * replica (`revalidate`, from the hub's poll before it publishes anything
 * newer) or when it expires (a timer per stream). Bind and stop are the
 * platform's: a stop ends every stream, waits WATCH_SHUTDOWN_GRACE_MS for
 * the server to shut down, then forces it.
 */
import * as grpc from '@grpc/grpc-js';
import { AtpError } from '@mercato/platform/errors';
import { bindGrpc, shutdownGrpc } from '@mercato/platform/servers';
import { type AuthFailureLimiter, sourceAddress } from '../auth/auth-failure-limiter.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/roles.js';
import { controlErrorOf, ERR } from '../errors.js';
import type { ControlStore } from '../store/control-store.js';
import { admitWatcher } from './watch-admission.js';
import type { WatchHub } from './watch-hub.js';
import {
  controlWatchService,
  MAX_WATCH_MESSAGE_BYTES,
  type WatchClientMsg,
  type WatchEventMsg,
  type WatchRequestMsg,
} from './watch-proto.js';
import { type WatcherStatus, WatchSession } from './watch-session.js';

export type { WatcherStatus } from './watch-session.js';

export const WATCH_HEARTBEAT_MS = 5_000;
export const GRPC_KEEPALIVE_TIME_MS = 10_000;
export const GRPC_KEEPALIVE_TIMEOUT_MS = 5_000;
/** stop() waits this long for streams to close before forcing the server down. */
export const WATCH_SHUTDOWN_GRACE_MS = 2_000;
/** Open streams per token (per replica) unless the token carries its own cap. */
export const MAX_STREAMS_PER_TOKEN = 4;
/** A WatchAndAck stream must say `watch` first within this long. */
export const FIRST_MESSAGE_TIMEOUT_MS = 10_000;
/** Longest timer node allows; expiries further out are re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A refused stream, for metrics, logs and the refusal audit. */
export interface WatchRefusal {
  error: AtpError;
  peer: string;
  source: string;
  principal: Principal | null;
}

export interface WatchServerOptions {
  hub: WatchHub;
  authenticator: Authenticator;
  store: ControlStore;
  host?: string;
  port?: number;
  heartbeatMs?: number;
  maxStreamsPerToken?: number;
  limiter?: AuthFailureLimiter;
  clock?: () => number;
  onRefused?: (r: WatchRefusal) => void;
}

type WatchCall = grpc.ServerWritableStream<WatchRequestMsg, WatchEventMsg>;
type AckCall = grpc.ServerDuplexStream<WatchClientMsg, WatchEventMsg>;
type AnyCall = WatchCall | AckCall;

export class WatchServer {
  private server: grpc.Server | null = null;
  private readonly sessions = new Set<WatchSession>();
  /** Token names known revoked (names are never reused, so this only grows). */
  private readonly revoked = new Set<string>();
  port = 0;

  constructor(private readonly opts: WatchServerOptions) {}

  /** Binds with `credentials` (TLS / mTLS, or insecure without a certificate). */
  async start(credentials: grpc.ServerCredentials): Promise<number> {
    const server = new grpc.Server({
      'grpc.max_send_message_length': MAX_WATCH_MESSAGE_BYTES,
      'grpc.max_receive_message_length': 64 * 1024,
      'grpc.keepalive_time_ms': GRPC_KEEPALIVE_TIME_MS,
      'grpc.keepalive_timeout_ms': GRPC_KEEPALIVE_TIMEOUT_MS,
      'grpc.keepalive_permit_without_calls': 1,
    });
    server.addService(controlWatchService().service, {
      Watch: (call: WatchCall) => {
        void this.open(call, call.request, 'watch');
      },
      WatchAndAck: (call: AckCall) => this.watchAndAck(call),
    });
    this.port = await bindGrpc(server, credentials, this.opts.port, this.opts.host);
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of [...this.sessions]) s.close();
    await shutdownGrpc(server, WATCH_SHUTDOWN_GRACE_MS);
  }

  watchers(): WatcherStatus[] {
    return [...this.sessions].map((s) => s.snapshotStatus());
  }

  /** Ends every stream of `tokenName` at once (it was revoked on this replica). */
  closeStreamsOf(tokenName: string, why: string): number {
    this.revoked.add(tokenName);
    let n = 0;
    for (const s of [...this.sessions]) {
      if (s.status.principal !== tokenName) continue;
      s.close(new AtpError(ERR.UNAUTHENTICATED, `token "${tokenName}" ${why}`));
      n++;
    }
    return n;
  }

  /** Re-reads revocations from the store (made on any replica) and ends those tokens' streams. */
  async revalidate(): Promise<void> {
    const names = await this.opts.store.read((tx) => tx.tokens.revokedNames());
    for (const name of names) {
      if (!this.revoked.has(name)) this.closeStreamsOf(name, 'was revoked');
    }
  }

  private watchAndAck(call: AckCall): void {
    let session: WatchSession | null = null;
    let first = true;
    const timer = setTimeout(() => {
      if (first) {
        first = false;
        this.refuse(call, new AtpError(ERR.INVALID_ARGUMENT, 'no `watch` message within 10 s'), null);
      }
    }, FIRST_MESSAGE_TIMEOUT_MS);
    timer.unref();
    call.on('data', (msg: WatchClientMsg) => {
      if (first) {
        first = false;
        clearTimeout(timer);
        if (msg.watch === undefined || msg.watch === null) {
          this.refuse(
            call,
            new AtpError(ERR.INVALID_ARGUMENT, 'the first message must be `watch`', 'watch'),
            null,
          );
          return;
        }
        void this.open(call, msg.watch, 'watch-and-ack').then((s) => {
          session = s;
        });
        return;
      }
      if (msg.ack !== undefined && msg.ack !== null) session?.onAck(msg.ack);
    });
    call.on('end', () => {
      clearTimeout(timer);
      session?.close();
    });
    call.on('error', () => clearTimeout(timer));
  }

  /** Admits and starts one stream; a refusal ends the call with its code (null is returned then). */
  private async open(
    call: AnyCall,
    req: WatchRequestMsg,
    protocol: WatcherStatus['protocol'],
  ): Promise<WatchSession | null> {
    let principal: Principal | null = null;
    try {
      principal = await this.authenticate(call);
      return await this.admit(call, req, protocol, principal);
    } catch (err) {
      this.refuse(call, err, principal);
      return null;
    }
  }

  private async authenticate(call: AnyCall): Promise<Principal> {
    const source = sourceAddress(call.getPeer());
    const limiter = this.opts.limiter;
    const value = call.metadata.get('authorization')[0];
    const header = typeof value === 'string' ? value : undefined;
    if (limiter !== undefined && !limiter.admit(source, header)) {
      throw new AtpError(ERR.RATE_LIMITED, `too many failed authentications from ${source}`);
    }
    const p = await this.opts.authenticator.principal(header);
    limiter?.succeeded(source, header);
    return p;
  }

  private async admit(
    call: AnyCall,
    req: WatchRequestMsg,
    protocol: WatcherStatus['protocol'],
    principal: Principal,
  ): Promise<WatchSession> {
    const clock = this.opts.clock ?? Date.now;
    const peer = call.getPeer();
    const admitted = admitWatcher({
      principal,
      req,
      open: [...this.sessions].map((s) => s.status),
      maxStreamsPerToken: this.opts.maxStreamsPerToken ?? MAX_STREAMS_PER_TOKEN,
      authenticator: this.opts.authenticator,
    });
    const session = new WatchSession({
      call,
      hub: this.opts.hub,
      clock,
      heartbeatMs: this.opts.heartbeatMs ?? WATCH_HEARTBEAT_MS,
      expiresAtMs: principal.expiresAtMs ?? null,
      status: {
        ...admitted,
        peer,
        tlsPeer: peerCertificateName(call),
        protocol,
        connectedAtMs: clock(),
        tokenExpiresAtMs: principal.expiresAtMs ?? null,
        sentVersion: 0,
        ack: null,
        acks: 0,
        badAcks: 0,
      },
      onClosed: (s) => this.sessions.delete(s),
    });
    this.sessions.add(session);
    // Revoked or expired while this stream was being admitted: end it before its first event.
    if (this.revoked.has(principal.name)) {
      session.close(new AtpError(ERR.UNAUTHENTICATED, `token "${principal.name}" was revoked`));
      return session;
    }
    this.armExpiry(session, principal, clock);
    await session.start(req);
    return session;
  }

  private armExpiry(session: WatchSession, principal: Principal, clock: () => number): void {
    const expiresAtMs = principal.expiresAtMs ?? null;
    if (expiresAtMs === null) return;
    const check = () => {
      const left = expiresAtMs - clock();
      if (left <= 0) {
        session.close(
          new AtpError(
            ERR.UNAUTHENTICATED,
            `token "${principal.name}" expired at ${new Date(expiresAtMs).toISOString()}`,
          ),
        );
        return;
      }
      session.setExpiryTimer(setTimeout(check, Math.min(left, MAX_TIMER_MS)));
    };
    check();
  }

  private refuse(call: AnyCall, err: unknown, principal: Principal | null): void {
    const e = controlErrorOf(err);
    const peer = call.getPeer();
    this.opts.onRefused?.({ error: e, peer, source: sourceAddress(peer), principal });
    const md = new grpc.Metadata();
    md.set('atp-error-code', e.code);
    call.emit('error', { code: e.spec.grpcStatus, details: e.message, metadata: md });
  }
}

/** The client certificate's subject CN (mTLS), for status; null without one. */
function peerCertificateName(call: AnyCall): string | null {
  try {
    const cert = call.getAuthContext().sslPeerCertificate;
    if (cert === undefined || cert === null || Object.keys(cert).length === 0) return null;
    const cn = cert.subject?.CN;
    return typeof cn === 'string' ? cn : Array.isArray(cn) ? cn.join(',') : null;
  } catch {
    return null;
  }
}
