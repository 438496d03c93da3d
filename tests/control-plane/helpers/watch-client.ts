/**
 * A watch stream client for control-plane tests, on the wire like a
 * sidecar: `Watch` (server streaming) or `WatchAndAck` (bidi, acks on
 * request), over plaintext, TLS (a CA) or mTLS (a client certificate).
 * It records every event and the stream's error (signed-replay.ts replays
 * them the way a careful sidecar must). It speaks the wire only, so the
 * finding tests that use it also run against code without issue 16.
 */
import * as grpc from '@grpc/grpc-js';
import {
  controlWatchService,
  type WatchClientMsg,
  type WatchEventMsg,
} from '../../../control-plane/src/watch/watch-proto.js';
import { type ControlSnapshot, parseControlSnapshot } from '../../../proto/v1/control-snapshot.js';

export interface TestWatch {
  events: WatchEventMsg[];
  error: grpc.ServiceError | null;
  ended: boolean;
  /** Sends an ack (WatchAndAck only). */
  ack(
    held: { version: number; contentHash: string } | null,
    refused?: { code: string; version: number },
  ): void;
  close(): void;
}

export interface WatchOptions {
  token: string | null;
  sidecarId?: string;
  region?: string;
  from?: number;
  hash?: string;
  acks?: boolean;
  /** TLS: the CA of the server certificate; with `cert`/`key` also a client certificate (mTLS). */
  ca?: string;
  cert?: string;
  key?: string;
}

type WatchStub = grpc.Client & {
  Watch(req: unknown, md: grpc.Metadata): grpc.ClientReadableStream<WatchEventMsg>;
  WatchAndAck(md: grpc.Metadata): grpc.ClientDuplexStream<WatchClientMsg, WatchEventMsg>;
};

export function openWatch(address: string, o: WatchOptions): TestWatch {
  const Ctor = controlWatchService();
  const creds =
    o.ca === undefined
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(
          Buffer.from(o.ca),
          o.key === undefined ? null : Buffer.from(o.key),
          o.cert === undefined ? null : Buffer.from(o.cert),
        );
  const client = new Ctor(address, creds) as unknown as WatchStub;
  const md = new grpc.Metadata();
  if (o.token !== null) md.set('authorization', `Bearer ${o.token}`);
  const req = {
    from_version: String(o.from ?? 0),
    content_hash: o.hash ?? '',
    sidecar_id: o.sidecarId ?? 'test-sidecar',
    region: o.region ?? 'eu-west',
  };
  let duplex: grpc.ClientDuplexStream<WatchClientMsg, WatchEventMsg> | null = null;
  let call: grpc.ClientReadableStream<WatchEventMsg>;
  if (o.acks === true) {
    duplex = client.WatchAndAck(md);
    duplex.write({ watch: req });
    call = duplex;
  } else {
    call = client.Watch(req, md);
  }
  const w: TestWatch = {
    events: [],
    error: null,
    ended: false,
    // The Ack message as proto/v1/watch-ack.ts `watchAck` builds it (written out: wire only).
    ack: (held, refused) => {
      duplex?.write({
        ack: {
          version: String(held?.version ?? 0),
          content_hash: held?.contentHash ?? '',
          applied_at_ms: String(Date.now()),
          ...(refused === undefined
            ? {}
            : { refused_code: refused.code, refused_version: String(refused.version) }),
        },
      });
    },
    close: () => {
      call.cancel();
      client.close();
    },
  };
  call.on('data', (e: WatchEventMsg) => w.events.push(e));
  call.on('error', (e: grpc.ServiceError) => {
    w.error = e;
  });
  call.on('end', () => {
    w.ended = true;
  });
  return w;
}

export function fullOf(e: WatchEventMsg): ControlSnapshot {
  return parseControlSnapshot(JSON.parse(Buffer.from(e.snapshot?.snapshot_json ?? '').toString('utf8')));
}
