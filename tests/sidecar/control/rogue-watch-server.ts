/**
 * A scripted watch server (a fake control plane, or an attacker's): answers
 * each WatchAndAck stream with scripted events after the client's `watch`
 * message, and records the requests and every ack the client sends. With
 * `tls` it serves TLS (mTLS when `clientCa` is set), and records the
 * authorization header it was sent (finding 2: the token went to a fake
 * server in clear).
 */
import * as grpc from '@grpc/grpc-js';
import type { Test } from 'tap';
import { controlWatchService } from '../../../control-plane/src/watch/watch-proto.js';
import { type ControlSnapshot, controlSnapshotToJson } from '../../../proto/v1/control-snapshot.js';

export interface RogueServer {
  address: string;
  requests: Record<string, string>[];
  acks: Record<string, string>[];
  /** Bearer headers received, one per stream. */
  authorizations: string[];
}

export interface RogueTls {
  certPem: string;
  keyPem: string;
  /** Require client certificates from this CA (mTLS). */
  clientCaPem?: string;
}

type Duplex = grpc.ServerDuplexStream<
  { watch?: Record<string, string>; ack?: Record<string, string> },
  unknown
>;

export async function startRogueWatchServer(
  t: Test,
  script: (req: Record<string, string>, n: number) => unknown[],
  tls?: RogueTls,
): Promise<RogueServer> {
  const srv: RogueServer = { address: '', requests: [], acks: [], authorizations: [] };
  const server = new grpc.Server();
  server.addService(controlWatchService().service, {
    Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
    WatchAndAck: (call: Duplex) => {
      const auth = call.metadata.get('authorization')[0];
      srv.authorizations.push(typeof auth === 'string' ? auth : '');
      call.on('data', (msg) => {
        if (msg.watch !== undefined && msg.watch !== null) {
          srv.requests.push(msg.watch);
          for (const ev of script(msg.watch, srv.requests.length)) call.write(ev);
        } else if (msg.ack !== undefined && msg.ack !== null) srv.acks.push(msg.ack);
      });
      call.on('error', () => undefined);
    },
  });
  const creds =
    tls === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(
          tls.clientCaPem === undefined ? null : Buffer.from(tls.clientCaPem),
          [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
          tls.clientCaPem !== undefined,
        );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? reject(e) : resolve(p))),
  );
  t.teardown(() => server.forceShutdown());
  srv.address = `127.0.0.1:${port}`;
  return srv;
}

/** A FullSnapshot event for `s`, optionally with its JSON tampered after the fact. */
export function rogueFullEvent(s: ControlSnapshot, tamper?: (j: Record<string, unknown>) => void): unknown {
  const j = controlSnapshotToJson(s) as Record<string, unknown>;
  tamper?.(j);
  return {
    snapshot: {
      version: String(s.version),
      content_hash: s.contentHash,
      snapshot_json: Buffer.from(JSON.stringify(j)),
    },
  };
}
