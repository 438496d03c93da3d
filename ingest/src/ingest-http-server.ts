/**
 * The ingester's small HTTP face: `/metrics` (Prometheus text), `/healthz`
 * (the process answers) and `/readyz` (200 when healthy, 503 with the
 * problems otherwise). Nothing listens until start(); listening and a
 * bounded stop come from the platform's servers kit.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import { metricsExposition, type Registry } from '@mercato/platform/metrics';
import { closeHttp, DEFAULT_STOP_GRACE_MS, listenHttp } from '@mercato/platform/servers';
import type { HealthStatus } from './ingest-health.js';

export interface IngestHttpOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  registry: Registry;
  health: () => HealthStatus;
  /** How long a scrape in flight may take to finish once stop() began. */
  stopGraceMs?: number;
}

export class IngestHttpServer {
  private server: Server | null = null;
  private boundPort: number | null = null;

  constructor(private readonly opts: IngestHttpOptions) {}

  /** The bound port once started (null before). */
  get port(): number | null {
    return this.boundPort;
  }

  /** Listens and resolves with the bound port; rejects when the port is taken. */
  async start(): Promise<number> {
    if (this.server !== null && this.boundPort !== null) return this.boundPort;
    const server = createServer((req, res) => this.route(req.method, req.url, res));
    this.server = server;
    this.boundPort = await listenHttp(server, this.opts.port, this.opts.host);
    return this.boundPort;
  }

  /** Idempotent; requests in flight get the grace period, then their connections are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    this.boundPort = null;
    await closeHttp(server, this.opts.stopGraceMs ?? DEFAULT_STOP_GRACE_MS);
  }

  private route(method: string | undefined, url: string | undefined, res: ServerResponse): void {
    const path = (url ?? '/').split('?')[0];
    if (method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    switch (path) {
      case '/metrics':
        metricsExposition(this.opts.registry).then(
          (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body),
          (err: Error) => res.writeHead(500).end(err.message),
        );
        return;
      case '/healthz':
        json(res, 200, { alive: true });
        return;
      case '/readyz': {
        const status = this.opts.health();
        json(res, status.healthy ? 200 : 503, status);
        return;
      }
      default:
        json(res, 404, { error: 'not found' });
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
