/**
 * The whole local mesh on embedded defaults, in one process (what `npm start`
 * runs): the simulator feeding inventory events in real time into an
 * in-memory sidecar, a demo checkout upstream, and the local data plane that
 * runs the compiled .wasm filter through the proxy-wasm host emulator in front
 * of it. No Redis, no Kafka. Every part has start/stop; nothing runs at import.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeBatchAccumulator } from '../features/src/node-batch-features.js';
import type { NodeInfo } from '../features/src/node-profile.js';
import type { InventoryEvent } from '../proto/v1/inventory-event.js';
import { createSidecar, type Sidecar } from '../sidecar/src/sidecar.js';
import { createSimulator } from '../training/src/simulator/index.js';
import { createLocalDataPlane, type LocalDataPlane } from '../wasm-filter/emulator/local-data-plane.js';
import { buildWasmFilter, OUT_PATH as FILTER_WASM_PATH } from '../wasm-filter/scripts/build.js';

export const DEFAULT_PORTS = { dataPlane: 8080, upstream: 8081, sidecarHttp: 8090, sidecarGrpc: 8091 };
export const REGION = 'eu-west';
/** Simulated history applied at once before real-time pacing starts, so stock and batch features exist. */
export const WARMUP_MS = 20 * 60_000;
/** The pacer sleeps at most this long at a time, so stop() is prompt. */
const PACER_MAX_SLEEP_MS = 200;
const DEMO_HEARTBEAT_MS = 15_000;
const WARMUP_REQUESTS_MIN = 5;
const WARMUP_REQUESTS_MAX = 200;

/** A first-party warehouse that serves every zone and holds the two demo SKUs. */
export const DEMO_NODE: NodeInfo = {
  nodeId: 'WH-DEMO',
  nodeType: 'warehouse',
  region: REGION,
  zone: 'Z2-2',
  handlingHours: 2,
  baseCost: 4,
  serviceRadius: 10,
  dailyOrderCap: 0,
  blackoutHoursUtc: null,
};
export const DEMO_IN_STOCK_SKU = 'DEMO-INSTOCK';
export const DEMO_SOLD_OUT_SKU = 'DEMO-SOLDOUT';
export const DEMO_ZONE = 'Z2-2';

export const FILTER_CONFIG = {
  sidecar_cluster: 'atp-sidecar',
  sidecar_authority: 'atp-sidecar',
  sidecar_path: '/v1/check',
  timeout_ms: 25,
  region: REGION,
  max_body_bytes: 65_536,
  routes: [{ prefix: '/checkout', mode: 'enforce' }],
};

export interface LocalMeshOptions {
  ports?: Partial<typeof DEFAULT_PORTS>;
  seed?: number;
  log?: (line: string) => void;
}

export interface LocalMesh {
  ports: typeof DEFAULT_PORTS;
  sidecar: Sidecar;
  dataPlane: LocalDataPlane;
  /** Events applied so far (warm-up plus real time). */
  readonly eventsApplied: number;
  /** The simulated world's most popular SKU, for examples. */
  exampleSku: string;
  stop(): Promise<void>;
}

export async function startLocalMesh(opts: LocalMeshOptions = {}): Promise<LocalMesh> {
  const log = opts.log ?? (() => undefined);
  const ports = { ...DEFAULT_PORTS, ...opts.ports };
  await buildWasmFilter({ log: () => undefined });

  const startMs = Date.now() - WARMUP_MS;
  const sim = createSimulator({ seed: opts.seed ?? 1, startTimeMs: startMs });
  const sidecar = createSidecar({
    region: REGION,
    host: '127.0.0.1',
    httpPort: ports.sidecarHttp,
    grpcPort: ports.sidecarGrpc,
  });
  for (const node of sim.world.nodes) sidecar.directory.upsert(node);
  sidecar.directory.upsert(DEMO_NODE);

  // Warm-up: apply the simulated past at once and learn batch node features from it.
  const records = sim.run();
  const batch = new NodeBatchAccumulator();
  let applied = 0;
  let next = records.next();
  const now = Date.now();
  while (!next.done && recordTimeMs(next.value) <= now) {
    if (next.value.type === 'event') {
      sidecar.features.apply(next.value.event);
      batch.observe(next.value.event, next.value.deliverAtMs);
      applied++;
    }
    next = records.next();
  }
  sidecar.directory.loadBatch(`warmup-${startMs}`, batch.result());
  const demo = demoFeed(now);
  for (const e of demo.initial) sidecar.features.apply(e);
  log(`simulator warm-up: ${applied} events over ${WARMUP_MS / 60_000} simulated minutes`);

  const started = await sidecar.start();
  const upstream = await startDemoUpstream(ports.upstream);
  const dataPlane = createLocalDataPlane({
    port: ports.dataPlane,
    wasmPath: FILTER_WASM_PATH,
    pluginConfig: FILTER_CONFIG,
    upstream: { host: '127.0.0.1', port: upstream.port },
    clusters: { 'atp-sidecar': { host: '127.0.0.1', port: started.httpPort } },
    logLevel: 'warn',
    onLog: (e) => log(`filter ${e.level}: ${e.message}`),
  });
  const dp = await dataPlane.start();
  await warmUpPath(dp.port);
  const actual = {
    dataPlane: dp.port,
    upstream: upstream.port,
    sidecarHttp: started.httpPort,
    sidecarGrpc: started.grpcPort,
  };

  // Real time: deliver each simulated record when the wall clock reaches it.
  let stopping = false;
  const pacer = (async () => {
    let hbDue = Date.now() + DEMO_HEARTBEAT_MS;
    while (!stopping && !next.done) {
      const t = Date.now();
      if (t >= hbDue) {
        sidecar.features.apply(demo.heartbeat(t));
        hbDue = t + DEMO_HEARTBEAT_MS;
      }
      const due = recordTimeMs(next.value);
      if (due > t) {
        await sleep(Math.min(PACER_MAX_SLEEP_MS, due - t, hbDue - t));
        continue;
      }
      if (next.value.type === 'event') {
        sidecar.features.apply(next.value.event);
        applied++;
      }
      next = records.next();
    }
  })();

  return {
    ports: actual,
    exampleSku: sim.world.skus[0]?.sku ?? DEMO_IN_STOCK_SKU,
    sidecar,
    dataPlane,
    get eventsApplied() {
      return applied;
    },
    async stop() {
      stopping = true;
      await pacer;
      await dataPlane.stop();
      await closeServer(upstream.server);
      await sidecar.stop();
    },
  };
}

/**
 * Sends demo checkouts through the whole path until one is allowed, so the
 * first request a person sends does not pay for cold connections and JIT
 * against the filter's 25 ms sidecar budget (Envoy would warm its cluster
 * connections the same way through health checks).
 */
async function warmUpPath(port: number): Promise<void> {
  const body = JSON.stringify({ buyer_zone: DEMO_ZONE, items: [{ sku: DEMO_IN_STOCK_SKU, qty: 1 }] });
  for (let i = 0; i < WARMUP_REQUESTS_MAX; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `warmup-${i}` },
      body,
    }).catch(() => null);
    await res?.arrayBuffer();
    if (res?.status === 201 && i >= WARMUP_REQUESTS_MIN) return;
    await sleep(20);
  }
  throw new Error(`the local path did not answer an in-stock checkout after ${WARMUP_REQUESTS_MAX} tries`);
}

function recordTimeMs(r: { type: string; deliverAtMs?: number; atMs?: number }): number {
  return r.type === 'event' ? (r.deliverAtMs ?? 0) : (r.atMs ?? 0);
}

/** Events for the demo warehouse: a huge stock of one SKU, a sold-out other, and live heartbeats. */
function demoFeed(nowMs: number): { initial: InventoryEvent[]; heartbeat(atMs: number): InventoryEvent } {
  let hbSeq = 0;
  let id = 0;
  const mk = (
    sku: string,
    kind: InventoryEvent['kind'],
    quantity: number,
    sequence: number,
  ): InventoryEvent => ({
    eventId: `demo-${++id}`,
    sku,
    node: DEMO_NODE.nodeId,
    kind,
    quantity,
    sequence,
    eventTimeMs: nowMs,
    source: 'first-party',
  });
  const heartbeat = (atMs: number): InventoryEvent => ({
    ...mk('*', 'heartbeat', 0, ++hbSeq),
    eventId: `demo-hb-${hbSeq}`,
    eventTimeMs: atMs,
  });
  return {
    initial: [
      mk(DEMO_IN_STOCK_SKU, 'receipt', 1_000_000, 1),
      mk(DEMO_SOLD_OUT_SKU, 'receipt', 5, 1),
      mk(DEMO_SOLD_OUT_SKU, 'sale', 5, 2),
      heartbeat(nowMs),
    ],
    heartbeat,
  };
}

/** The demo checkout service behind the filter: echoes the ATP headers it received. */
async function startDemoUpstream(port: number): Promise<{ server: Server; port: number }> {
  let orders = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        service: 'demo-checkout',
        order_id: `order-${++orders}`,
        path: req.url,
        atp_decision: req.headers['x-atp-decision'] ?? null,
        atp_decision_id: req.headers['x-atp-decision-id'] ?? null,
        atp_node: req.headers['x-atp-node'] ?? null,
      });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
