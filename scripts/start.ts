/**
 * `npm start`: the local mesh on embedded defaults. Prints what to try and
 * stops cleanly on Ctrl-C (SIGINT) or SIGTERM.
 *
 * Ports: ATP_PORT (data plane, 8080), ATP_UPSTREAM_PORT (8081),
 * ATP_SIDECAR_HTTP_PORT (8090), ATP_SIDECAR_GRPC_PORT (8091); 0 = any free port.
 */
import {
  DEFAULT_PORTS,
  DEMO_IN_STOCK_SKU,
  DEMO_SOLD_OUT_SKU,
  DEMO_ZONE,
  startLocalMesh,
} from './local-mesh.js';

function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    console.error(`${name}: expected a port number 0..65535, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const ports = {
  dataPlane: portFromEnv('ATP_PORT', DEFAULT_PORTS.dataPlane),
  upstream: portFromEnv('ATP_UPSTREAM_PORT', DEFAULT_PORTS.upstream),
  sidecarHttp: portFromEnv('ATP_SIDECAR_HTTP_PORT', DEFAULT_PORTS.sidecarHttp),
  sidecarGrpc: portFromEnv('ATP_SIDECAR_GRPC_PORT', DEFAULT_PORTS.sidecarGrpc),
};

const mesh = await startLocalMesh({ ports, log: (l) => console.log(`[mesh] ${l}`) }).catch((err: Error) => {
  const hint = /EADDRINUSE/.test(String(err))
    ? ' (a port is taken: set ATP_PORT etc., or 0 for any free port)'
    : '';
  console.error(`could not start the local mesh: ${err.message}${hint}`);
  process.exit(1);
});

const p = mesh.ports;
const body = (sku: string) => `'{"buyer_zone":"${DEMO_ZONE}","items":[{"sku":"${sku}","qty":1}]}'`;
const curl = (sku: string) =>
  `curl -s -i -X POST http://127.0.0.1:${p.dataPlane}/checkout -H 'content-type: application/json' -d ${body(sku)}`;
console.log(`
mercato-atp local mesh is up (embedded defaults: in-memory stores, simulator feed)
  data plane (wasm filter in the emulator)  http://127.0.0.1:${p.dataPlane}
  demo checkout upstream                     http://127.0.0.1:${p.upstream}
  sidecar HTTP / gRPC                        127.0.0.1:${p.sidecarHttp} / 127.0.0.1:${p.sidecarGrpc}

Try an in-stock checkout (expect: HTTP 201 from the upstream, with x-atp-decision: allow):
  ${curl(DEMO_IN_STOCK_SKU)}

Try a sold-out checkout (expect: HTTP 409 from the filter, never reaching the upstream):
  ${curl(DEMO_SOLD_OUT_SKU)}

Ask the sidecar directly about a simulated SKU (its answer follows the live simulated stock):
  curl -s -X POST http://127.0.0.1:${p.sidecarHttp}/v1/check -H 'content-type: application/json' -d '{"request_id":"r-1","buyer_zone":"${DEMO_ZONE}","channel":"checkout","items":[{"sku":"SKU-00001","qty":1}]}'

Ctrl-C stops everything.`);

let stopping = false;
const shutdown = (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the local mesh (${mesh.eventsApplied} simulator events applied)`);
  mesh.stop().then(
    () => {
      console.log('stopped cleanly');
      process.exit(0);
    },
    (err: Error) => {
      console.error(`stop failed: ${err.message}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
