/**
 * The ingester's small HTTP face: `/metrics` (Prometheus text), `/healthz`
 * (the process answers) and `/readyz` (200 when healthy, 503 with the
 * problems otherwise). Nothing listens until start().
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { HealthStatus } from './ingest-health.js';

export interface IngestHttpOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  registry: Registry;
  health: () => HealthStatus;
}

export class IngestHttpServer {
  private server: Server | null = null;
  port = 0;

  constructor(private readonly opts: IngestHttpOptions) {}

  async start(): Promise<number> {
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET' }).end();
        return;
      }
      if (path === '/metrics') {
        this.opts.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': this.opts.registry.contentType }).end(text),
          (err: Error) => res.writeHead(500).end(err.message),
        );
        return;
      }
      if (path === '/healthz') {
        json(res, 200, { alive: true });
        return;
      }
      if (path === '/readyz') {
        const status = this.opts.health();
        json(res, status.healthy ? 200 : 503, status);
        return;
      }
      json(res, 404, { error: 'not found' });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    this.server = server;
    return this.port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s === null) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
