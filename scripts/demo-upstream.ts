/**
 * The demo checkout service behind the filter in `npm start`: answers every
 * POST with 201 and echoes the ATP headers the filter set, so a person (or
 * the e2e test) sees what reached the application — the hold token included,
 * which a real checkout service keeps with the order to release or confirm
 * its hold (`POST /v1/reservations/release|confirm` on the sidecar).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoUpstream {
  port: number;
  stop(): Promise<void>;
}

export async function startDemoUpstream(port: number, host = '127.0.0.1'): Promise<DemoUpstream> {
  let orders = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        service: 'demo-checkout',
        order_id: `order-${++orders}`,
        path: req.url,
        atp_decision: req.headers['x-atp-decision'] ?? null,
        atp_decision_id: req.headers['x-atp-decision-id'] ?? null,
        atp_node: req.headers['x-atp-node'] ?? null,
        atp_degraded: req.headers['x-atp-degraded'] ?? null,
        // The hold token of an allow: what this service sends back to release or confirm the hold.
        atp_hold_token: req.headers['x-atp-hold-token'] ?? null,
      });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  let stopped = false;
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
