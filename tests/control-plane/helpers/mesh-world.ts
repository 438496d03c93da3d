/**
 * A running data path for end-to-end control tests: a real sidecar
 * (createSidecar, in-memory stores, a demo warehouse holding one in-stock
 * and one sold-out SKU), linked to a control plane with createControlLink
 * (exactly the wiring the sidecar's main will do), the compiled Wasm filter
 * in the proxy-wasm emulator (local data plane) in front of an echoing
 * upstream.
 */

import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { InventoryEvent } from '../../../proto/v1/inventory-event.js';
import {
  DEMO_IN_STOCK_SKU,
  DEMO_NODE,
  DEMO_SOLD_OUT_SKU,
  DEMO_ZONE,
  FILTER_CONFIG,
  REGION,
} from '../../../scripts/local-mesh.js';
import type { ControlLink } from '../../../sidecar/src/control/control-link.js';
import { createSidecar, type Sidecar, type SidecarConfig } from '../../../sidecar/src/sidecar.js';
import { createLocalDataPlane, type LocalDataPlane } from '../../../wasm-filter/emulator/local-data-plane.js';
import { buildWasmFilter, OUT_PATH as FILTER_WASM_PATH } from '../../../wasm-filter/scripts/build.js';
import { TOKENS } from './control-world.js';

export { DEMO_IN_STOCK_SKU, DEMO_SOLD_OUT_SKU, REGION };

const HEARTBEAT_EVERY_MS = 5_000;

export interface SidecarWorld {
  sidecar: Sidecar;
  link: ControlLink;
  httpPort: number;
  stop(): Promise<void>;
}

export interface ControlTarget {
  grpc: string;
  url: string;
  /** The control plane's snapshot public key (a ControlWorld has it); without it the sidecar runs unsigned. */
  snapshotKey?: KeyObject;
}

/** A sidecar in region eu-west, linked to the control plane, with the demo warehouse stocked. */
export async function startLinkedSidecar(
  t: Test,
  cp: ControlTarget,
  opts: { stateDir: string; trustedKeys: KeyObject[]; sidecarId?: string; extra?: Partial<SidecarConfig> },
): Promise<SidecarWorld> {
  const sidecar = createSidecar({
    region: REGION,
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    defaultMetrics: false,
    // The production wiring: the factory builds the link and the signature verifier from this.
    controlLink: {
      region: REGION,
      sidecarId: opts.sidecarId ?? 'sidecar-e2e',
      grpcAddress: cp.grpc,
      httpUrl: cp.url,
      modelsRoot: null,
      token: TOKENS.viewer,
      stateDir: opts.stateDir,
      trustedKeys: opts.trustedKeys,
      snapshotKeys: cp.snapshotKey === undefined ? null : [cp.snapshotKey],
      tls: null,
    },
    ...opts.extra,
  });
  sidecar.directory.upsert(DEMO_NODE);
  const now = Date.now();
  let seq = 0;
  const ev = (
    sku: string,
    kind: InventoryEvent['kind'],
    quantity: number,
    sequence: number,
    atMs = now,
  ): InventoryEvent => ({
    eventId: `e2e-${++seq}`,
    sku,
    node: DEMO_NODE.nodeId,
    kind,
    quantity,
    sequence,
    eventTimeMs: atMs,
    source: 'first-party',
  });
  for (const e of [
    ev(DEMO_IN_STOCK_SKU, 'receipt', 1_000_000, 1),
    ev(DEMO_SOLD_OUT_SKU, 'receipt', 5, 1),
    ev(DEMO_SOLD_OUT_SKU, 'sale', 5, 2),
    ev('*', 'heartbeat', 0, 1),
  ]) {
    sidecar.features.apply(e);
  }
  let hb = 1;
  const heartbeat = setInterval(
    () => sidecar.features.apply(ev('*', 'heartbeat', 0, ++hb, Date.now())),
    HEARTBEAT_EVERY_MS,
  );
  heartbeat.unref();
  // start() applies the persisted snapshot before the edges listen.
  const link = sidecar.link!;
  const { httpPort } = await sidecar.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(heartbeat);
    await sidecar.stop();
  };
  t.teardown(stop);
  return { sidecar, link, httpPort, stop };
}

export interface DataPlaneWorld {
  port: number;
  dataPlane: LocalDataPlane;
  /** POST /checkout through the filter for one unit of `sku`. */
  checkout(sku: string, requestId?: string): Promise<{ status: number; decision: string | null }>;
}

/** The compiled filter in the emulator, calling `sidecarHttpPort`, in front of an echoing upstream. */
export async function startDataPlane(t: Test, sidecarHttpPort: number): Promise<DataPlaneWorld> {
  await buildWasmFilter({ log: () => undefined });
  const upstream = await startUpstream();
  t.teardown(() => closeServer(upstream.server));
  const dataPlane = createLocalDataPlane({
    port: 0,
    wasmPath: FILTER_WASM_PATH,
    pluginConfig: FILTER_CONFIG,
    upstream: { host: '127.0.0.1', port: upstream.port },
    clusters: { 'atp-sidecar': { host: '127.0.0.1', port: sidecarHttpPort } },
    logLevel: 'warn',
  });
  const { port } = await dataPlane.start();
  t.teardown(() => dataPlane.stop());
  let n = 0;
  return {
    port,
    dataPlane,
    async checkout(sku, requestId = `e2e-${process.pid}-${++n}`) {
      const res = await fetch(`http://127.0.0.1:${port}/checkout`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ buyer_zone: DEMO_ZONE, items: [{ sku, qty: 1 }] }),
      });
      const text = await res.text();
      let decision: string | null = null;
      try {
        decision = (JSON.parse(text) as { atp_decision?: string | null }).atp_decision ?? null;
      } catch {
        decision = null;
      }
      return { status: res.status, decision };
    },
  };
}

/** POST /v1/check on the sidecar directly; returns status, decision and the answering model version. */
export async function sidecarCheck(
  httpPort: number,
  sku: string,
  requestId: string,
): Promise<{ status: number; decision: string | null; model: string | null; degraded: string }> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-atp-deadline-ms': '2000' },
    body: JSON.stringify({
      request_id: requestId,
      buyer_zone: DEMO_ZONE,
      channel: 'checkout',
      items: [{ sku, qty: 1 }],
    }),
  });
  await res.arrayBuffer();
  return {
    status: res.status,
    decision: res.headers.get('x-atp-decision'),
    model: res.headers.get('x-atp-model-version'),
    degraded: res.headers.get('x-atp-degraded') ?? '',
  };
}

async function startUpstream(): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ atp_decision: req.headers['x-atp-decision'] ?? null });
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

export const stateDirIn = (root: string, name = 'sidecar-state') => join(root, name);
