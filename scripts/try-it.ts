/**
 * What `npm start` prints once the local mesh is up: where each part
 * listens, and curls for SKUs of the simulated world, each preceded by the
 * outcome the sidecar gave at start. An expectation line reads
 *
 *   expect: HTTP <status>[ <where>], decision <allow|deny>[, node set]
 *           [, reasons <R>+<R>][, model_version <v>][, items <sku>=<available|R+R> ...]
 *
 * and the next line is the command, to be run as printed
 * (tests/e2e/npm-start.test.ts runs every one of them).
 */
import type { BrowseExample, DemoExample } from './demo-examples.js';
import type { LocalMesh } from './local-mesh.js';

/** The line that ends the instructions (the e2e test waits for it). */
export const READY_LINE = 'Ctrl-C stops everything.';

const JSON_HEADER = "-H 'content-type: application/json'";

export function formatTryIt(mesh: LocalMesh): string {
  const p = mesh.ports;
  const ex = mesh.examples;
  const model = mesh.expectedModelVersion;
  const modelClause = `model_version ${mesh.modelVersion}`;
  const dir = mesh.sidecar.directory;
  const steps: string[][] = [];
  let n = 0;
  const sidecarCheck = (e: DemoExample) =>
    sidecarCurl(p.sidecarHttp, '/v1/check', {
      request_id: `try-${n + 1}`,
      region: mesh.region,
      buyer_zone: e.zone,
      channel: 'checkout',
      items: [{ sku: e.sku, qty: e.qty }],
    });
  const step = (title: string, expect: string, cmd: string) => {
    n++;
    steps.push([`${n}. ${title}`, `   expect: ${expect}`, `   ${cmd}`]);
  };

  const s = ex.inStock;
  step(
    `Check out ${s.qty} x ${s.sku} for buyer zone ${s.zone} through the filter: in stock (${s.unitsP10} units p10, best node ${s.node}).`,
    'HTTP 201 from the demo upstream, decision allow, node set',
    dataPlaneCurl(p.dataPlane, s),
  );
  step(
    'The same question straight to the sidecar: the full answer, and the model that scored it (holds 1 unit for a few minutes).',
    `HTTP 200, decision allow, node set, reasons ${s.reasons.join('+')}, ${modelClause}`,
    sidecarCheck(s),
  );
  const denied: [DemoExample, string][] = [
    [ex.short, 'more units than any node holds'],
    [ex.unknown, 'a SKU the simulated world does not sell'],
  ];
  if (ex.notServiceable !== null) denied.push([ex.notServiceable, 'no node stocking it ships to this zone']);
  for (const [e, why] of denied) {
    step(
      `Check out ${e.qty} x ${e.sku} (zone ${e.zone}) through the filter: ${why}. The filter answers 409 itself; the upstream never sees it.`,
      'HTTP 409 from the filter, decision deny',
      dataPlaneCurl(p.dataPlane, e),
    );
    step(
      'Why: ask the sidecar.',
      `HTTP 200, decision deny, reasons ${e.reasons.join('+')}, ${modelClause}`,
      sidecarCheck(e),
    );
  }
  step(
    `A product-page batch (browse, up to 100 SKUs per call) for zone ${ex.browse.zone}, straight to the sidecar.`,
    `HTTP 200, ${modelClause}, items ${browseItems(ex.browse)}`,
    sidecarCurl(p.sidecarHttp, '/v1/check-batch', {
      request_id: `try-${n + 1}`,
      region: mesh.region,
      buyer_zone: ex.browse.zone,
      channel: 'browse',
      items: ex.browse.items.map((it) => ({ sku: it.sku, qty: it.qty })),
    }),
  );

  const c = mesh.control;
  step(
    'The operator console signs you in with a token: this one is the viewer (sees everything, pulls nothing).',
    'HTTP 200, console whoami local-viewer viewer',
    consoleCurl(c.url, c.tokens.viewer, '/console/api/whoami'),
  );
  if (mesh.warmupDecisionId !== null) {
    step(
      "The decision explorer's lookup (the console's Decisions page): the last warm-up checkout, with its candidates, scores, thresholds and reasons.",
      `HTTP 200, console decision ${mesh.warmupDecisionId} allow`,
      consoleCurl(c.url, c.tokens.viewer, `/console/api/decisions/${mesh.warmupDecisionId}`),
    );
  }

  return [
    '',
    'mercato-atp local mesh is up (embedded defaults: in-memory event log, feature store and node sets; simulated world)',
    `  data plane (wasm filter in the emulator)  http://127.0.0.1:${p.dataPlane}`,
    `  demo checkout upstream                     http://127.0.0.1:${p.upstream}`,
    `  sidecar HTTP / gRPC                        127.0.0.1:${p.sidecarHttp} / 127.0.0.1:${p.sidecarGrpc}`,
    `  model                                      ${mesh.modelVersion}${model !== null && mesh.modelVersion === model ? ' (models/CURRENT, checksum and feature schema verified)' : ' (no valid bundle: the rule scorer answers, flagged degraded: model)'}`,
    `  events                                     simulator -> ${mesh.ingest.config.topic} -> ingest -> feature store (${mesh.eventsProduced} so far)`,
    `  node sets (batch jobs)                     directory ${dir.directoryVersion}, features ${dir.batchVersion}`,
    `  control plane (SQLite, loopback)           ${c.url} / watch ${c.grpcAddress}; the sidecar follows it`,
    '',
    `Operator console: ${c.url}/console`,
    '  Sign in with one of these tokens (made for this run; they end with it):',
    `    admin     ${c.tokens.admin}`,
    `    operator  ${c.tokens.operator}`,
    `    viewer    ${c.tokens.viewer}`,
    '',
    'Try it (outcomes as the sidecar gave them at start; the simulated world keeps moving):',
    '',
    ...steps.flatMap((lines) => [...lines, '']),
    READY_LINE,
  ].join('\n');
}

function consoleCurl(url: string, token: string, path: string): string {
  return `curl -s -i -H 'authorization: Bearer ${token}' ${url}${path}`;
}

function dataPlaneCurl(port: number, e: DemoExample): string {
  const body = JSON.stringify({ buyer_zone: e.zone, items: [{ sku: e.sku, qty: e.qty }] });
  return `curl -s -i -X POST http://127.0.0.1:${port}/checkout ${JSON_HEADER} -d '${body}'`;
}

function sidecarCurl(port: number, path: string, body: Record<string, unknown>): string {
  return `curl -s -i -X POST http://127.0.0.1:${port}${path} ${JSON_HEADER} -d '${JSON.stringify(body)}'`;
}

function browseItems(b: BrowseExample): string {
  return b.items.map((it) => `${it.sku}=${it.available ? 'available' : it.reasons.join('+')}`).join(' ');
}
