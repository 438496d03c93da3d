/**
 * GET /metrics of an in-process registry on a loopback port: the local
 * mesh's embedded ingester has metrics but no server of its own, and the
 * console's overview scrapes every part the same way (by URL).
 */
import { createServer } from 'node:http';
import { metricsExposition, type Registry } from '../platform/src/metrics.js';
import { closeHttp, listenHttp } from '../platform/src/servers.js';

export interface MetricsEndpoint {
  url: string;
  stop(): Promise<void>;
}

export async function serveMetrics(registry: Registry, port = 0): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => {
    req.resume();
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    metricsExposition(registry).then(
      (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  const bound = await listenHttp(server, port, '127.0.0.1');
  return { url: `http://127.0.0.1:${bound}`, stop: () => closeHttp(server) };
}
