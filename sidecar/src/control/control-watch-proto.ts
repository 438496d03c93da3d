/**
 * The sidecar's view of the watch service (proto/v1/control.proto): the
 * messages it writes and reads (proto-loader keepCase, 64-bit as strings)
 * and the generated client constructor, loaded once on first use.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { WatchAckMsg } from '@mercato/proto/v1/watch-ack';

export const CONTROL_PROTO_PATH = fileURLToPath(new URL('../../../proto/v1/control.proto', import.meta.url));

export interface ClientMsg {
  watch?: Record<string, unknown>;
  ack?: WatchAckMsg;
}

export interface EventMsg {
  snapshot?: { version: string; content_hash: string; snapshot_json: Buffer };
  delta?: { from_version: string; to_version: string; content_hash: string; delta_json: Buffer };
  heartbeat?: { version: string; content_hash: string; server_time_ms: string };
}

export type WatchClientCtor = new (
  address: string,
  creds: grpc.ChannelCredentials,
  options?: grpc.ClientOptions,
) => grpc.Client & {
  WatchAndAck(md: grpc.Metadata): grpc.ClientDuplexStream<ClientMsg, EventMsg>;
};

let serviceCtor: WatchClientCtor | null = null;
export function watchServiceCtor(): WatchClientCtor {
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
