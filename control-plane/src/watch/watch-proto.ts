/** Loads proto/v1/control.proto (ControlWatchService) for the server; the sidecar's client loads the same file. */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { WatchAckMsg } from '@mercato/proto/v1/watch-ack';

export type { WatchAckMsg } from '@mercato/proto/v1/watch-ack';

export const CONTROL_PROTO_PATH = fileURLToPath(new URL('../../../proto/v1/control.proto', import.meta.url));
export const CONTROL_WATCH_SERVICE = 'mercato.atp.v1.ControlWatchService';
export const CONTROL_PROTO_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};
/** A snapshot with a million seller constraints is tens of MiB. */
export const MAX_WATCH_MESSAGE_BYTES = 256 * 1024 * 1024;

export function controlWatchService(): grpc.ServiceClientConstructor {
  const pkg = grpc.loadPackageDefinition(
    protoLoader.loadSync(CONTROL_PROTO_PATH, CONTROL_PROTO_OPTIONS),
  ) as unknown as {
    mercato: { atp: { v1: { ControlWatchService: grpc.ServiceClientConstructor } } };
  };
  return pkg.mercato.atp.v1.ControlWatchService;
}

/** Wire shapes (keepCase, longs as strings). */
export interface WatchRequestMsg {
  from_version: string;
  content_hash: string;
  sidecar_id: string;
  region: string;
}

/** A WatchAndAck client message: `watch` first, then `ack`s. */
export interface WatchClientMsg {
  watch?: WatchRequestMsg | null;
  ack?: WatchAckMsg | null;
  message?: 'watch' | 'ack';
}

export interface WatchEventMsg {
  snapshot?: { version: string | number; content_hash: string; snapshot_json: Buffer };
  delta?: {
    from_version: string | number;
    to_version: string | number;
    content_hash: string;
    delta_json: Buffer;
  };
  heartbeat?: { version: string | number; content_hash: string; server_time_ms: string | number };
  event?: 'snapshot' | 'delta' | 'heartbeat';
}
