/**
 * Start and stop of the network servers every service runs (HTTP edges,
 * admin API, metrics endpoints, gRPC edges and watch streams), written once:
 * listen reports the bound port (0 asks for any free one), stop is
 * idempotent and bounded: in-flight requests get `graceMs`, then their
 * connections are cut so a stop never hangs on a slow client.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';

/** How long in-flight HTTP requests / gRPC calls may take to finish once a stop began. */
export const DEFAULT_STOP_GRACE_MS = 2_000;
export const DEFAULT_BIND_HOST = '127.0.0.1';

/** Binds `server` to host:port and resolves with the bound port; rejects on EADDRINUSE and the like. */
export async function listenHttp(server: Server, port = 0, host = DEFAULT_BIND_HOST): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Stops accepting, lets requests in flight finish for up to `graceMs`, then
 * cuts what is left. Idle keep-alive connections are closed at once.
 */
export async function closeHttp(server: Server | null, graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
  if (server === null || !server.listening) return;
  server.closeIdleConnections();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Binds a grpc-js server and resolves with the bound port. */
export async function bindGrpc(
  server: grpc.Server,
  credentials: grpc.ServerCredentials,
  port = 0,
  host = DEFAULT_BIND_HOST,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Graceful gRPC shutdown bounded by `graceMs`, then a forced one (streams are cancelled). */
export async function shutdownGrpc(
  server: grpc.Server | null,
  graceMs = DEFAULT_STOP_GRACE_MS,
): Promise<void> {
  if (server === null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
