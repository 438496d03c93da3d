/**
 * The world's checkout service: the upstream behind every data plane, where
 * the filter forwards the checkouts it allowed. Like a real order service it
 * confirms the decision's soft holds at the sidecar (so the units stay
 * promised until the feed shows the order's reservation) and answers 201
 * with what the filter told it (decision id, node, degradations, reason).
 * Nothing user-level is sent anywhere: the world's buyers are simulated.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { closeHttp, listenHttp } from '@mercato/platform/servers';

export interface AllowedOrder {
  decisionId: string;
  node: string | null;
  degraded: string[];
  reason: string | null;
  decision: string;
  skus: string[];
}

export interface OrderService {
  port: number;
  /** Orders received so far. */
  readonly received: number;
  stop(): Promise<void>;
}

/** Holds are confirmed through whichever sidecar answers: they live in the region's Redis. */
export type ConfirmHolds = (order: AllowedOrder) => Promise<void>;

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return typeof v === 'string' && v !== '' ? v : null;
}

export async function startOrderService(confirm: ConfirmHolds, port = 0): Promise<OrderService> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received++;
      let skus: string[] = [];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { items?: { sku?: unknown }[] };
        skus = (body.items ?? []).map((i) => String(i.sku));
      } catch {
        // The filter only forwards bodies it parsed; a malformed one is answered, never fatal.
      }
      const order: AllowedOrder = {
        decision: header(req, 'x-atp-decision') ?? 'none',
        decisionId: header(req, 'x-atp-decision-id') ?? '',
        node: header(req, 'x-atp-node'),
        degraded: (header(req, 'x-atp-degraded') ?? '').split(',').filter((s) => s !== ''),
        reason: header(req, 'x-atp-reason'),
        skus,
      };
      const answer = () => {
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            decision: order.decision,
            decision_id: order.decisionId,
            node: order.node,
            degraded: order.degraded,
            reason: order.reason,
          }),
        );
      };
      // A hold is confirmed only for decisions the sidecar made (the filter's own have no hold).
      if (order.decision === 'allow' && order.decisionId !== '' && !order.decisionId.startsWith('flt-')) {
        confirm(order).then(answer, answer);
      } else {
        answer();
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  const bound = await listenHttp(server, port);
  return {
    port: bound,
    get received() {
      return received;
    },
    stop: () => closeHttp(server),
  };
}

/** Confirms holds by POSTing to a sidecar's reservation endpoint (round-robin over the pods). */
export function sidecarHoldConfirmer(sidecarHttpPorts: () => number[]): ConfirmHolds {
  let next = 0;
  return async (order) => {
    const ports = sidecarHttpPorts();
    if (ports.length === 0 || order.skus.length === 0) return;
    const port = ports[next++ % ports.length];
    await fetch(`http://127.0.0.1:${port}/v1/reservations/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision_id: order.decisionId, skus: order.skus }),
      signal: AbortSignal.timeout(2_000),
    }).then((r) => r.arrayBuffer());
  };
}
