/**
 * Drives the real atp-filter.wasm through the proxy-wasm emulator with a fake
 * sidecar cluster (a test double for the sidecar's HTTP edge; the real
 * sidecar is exercised end to end elsewhere).
 */
import { readFile } from 'node:fs/promises';
import type { FilterSnapshot } from '../../../proto/v1/control-snapshot.js';
import {
  type ClusterHandler,
  type HeaderPairs,
  type HttpCallRequest,
  type HttpCallResponse,
  type HttpStream,
  ProxyWasmVm,
  type ProxyWasmVmOptions,
  type StreamState,
} from '../../../wasm-filter/emulator/index.js';
import { buildWasmFilter, OUT_PATH } from '../../../wasm-filter/scripts/build.js';

export const SIDECAR_CLUSTER = 'atp-sidecar';

export const BASE_CONFIG = {
  sidecar_cluster: SIDECAR_CLUSTER,
  sidecar_authority: 'atp-sidecar',
  sidecar_path: '/v1/check',
  timeout_ms: 25,
  region: 'eu-west',
  max_body_bytes: 65536,
  routes: [{ prefix: '/checkout', mode: 'enforce' }],
};

let compiled: Promise<WebAssembly.Module> | undefined;

/** The filter module, built first when missing or stale, compiled once per test process. */
export function filterModule(): Promise<WebAssembly.Module> {
  compiled ??= buildWasmFilter({ log: () => {} }).then(async () =>
    WebAssembly.compile(await readFile(OUT_PATH)),
  );
  return compiled;
}

export interface SidecarAnswer {
  decision: 'allow' | 'deny';
  node?: string;
  degraded?: string[];
  /** x-atp-units-p10: one value per item (omitted when undefined). */
  unitsP10?: number[];
  rulesVersion?: string;
  modelVersion?: string;
}

/** The sidecar's request as JSON (what the filter sent). */
export interface SidecarRequestJson {
  request_id: string;
  region: string;
  buyer_zone: string;
  channel: string;
  items: Array<{ sku: string; qty: number }>;
}

export const SNAPSHOT_PATH = '/v1/filter-snapshot';

export interface FakeSidecar {
  handler: ClusterHandler;
  /** Every decision call (POST /v1/check) the sidecar received, in order. */
  calls: HttpCallRequest[];
  /** Parsed request bodies of those calls. */
  requests: SidecarRequestJson[];
  /** How many times the filter pulled the snapshot. */
  snapshotPulls: number;
  /**
   * What GET /v1/filter-snapshot serves: a snapshot (as JSON), a raw string
   * body (for malformed snapshots), or undefined: 404 (no snapshot, the plugin
   * configuration applies).
   */
  snapshot: FilterSnapshot | string | undefined;
}

/** A filter snapshot as the sidecar serves it, with nothing switched off. */
export function filterSnapshot(overrides: Partial<FilterSnapshot> = {}): FilterSnapshot {
  return {
    version: 1,
    rules_version: 'rules-3',
    model_version: 'gbt-7',
    killed: false,
    killed_routes: [],
    killed_skus: [],
    held_skus: [],
    routes: [{ prefix: '/checkout', mode: 'enforce', rollout_pct: 100 }],
    ...overrides,
  };
}

/**
 * A sidecar answering decision calls with 200 and the summary headers of the
 * decision contract (`decide` sees the parsed request; decision ids are
 * dec-1, dec-2, ...), and snapshot pulls with `snapshot` (404 when unset).
 */
export function fakeSidecar(decide: (request: SidecarRequestJson) => SidecarAnswer): FakeSidecar {
  const sidecar: FakeSidecar = {
    calls: [],
    requests: [],
    snapshotPulls: 0,
    snapshot: undefined,
    handler: (call) => {
      const path = call.headers.find(([k]) => k === ':path')?.[1];
      if (path === SNAPSHOT_PATH) {
        sidecar.snapshotPulls++;
        if (sidecar.snapshot === undefined) return { status: 404, body: '{"error":"not_found"}' };
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: typeof sidecar.snapshot === 'string' ? sidecar.snapshot : JSON.stringify(sidecar.snapshot),
        };
      }
      sidecar.calls.push(call);
      const request = JSON.parse(Buffer.from(call.body).toString('utf8')) as SidecarRequestJson;
      sidecar.requests.push(request);
      const answer = decide(request);
      const decisionId = `dec-${sidecar.calls.length}`;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-atp-decision': answer.decision,
        'x-atp-decision-id': decisionId,
        'x-atp-node': answer.node ?? 'wh-eu-1',
        'x-atp-degraded': (answer.degraded ?? []).join(','),
        'x-atp-model-version': answer.modelVersion ?? 'gbt-7',
        'x-atp-rules-version': answer.rulesVersion ?? 'rules-3',
      };
      if (answer.unitsP10 !== undefined) headers['x-atp-units-p10'] = answer.unitsP10.join(',');
      return {
        status: 200,
        headers,
        body: JSON.stringify({ decision_id: decisionId, decision: answer.decision }),
      };
    },
  };
  return sidecar;
}

/** In stock: everything except SKUs starting with OOS. */
export function stockSidecar(): FakeSidecar {
  return fakeSidecar((r) => ({
    decision: r.items.every((i) => !i.sku.startsWith('OOS')) ? 'allow' : 'deny',
  }));
}

export interface FilterOptions extends Omit<ProxyWasmVmOptions, 'pluginConfig' | 'clusters'> {
  config?: Record<string, unknown>;
  sidecar?: ClusterHandler;
}

/** Loads and starts the filter; refuses to continue the test when it does not start. */
export async function startFilter(options: FilterOptions = {}): Promise<ProxyWasmVm> {
  const { config, sidecar, ...vmOptions } = options;
  const vm = await ProxyWasmVm.load(await filterModule(), {
    vmId: 'atp',
    rootId: 'atp_filter',
    logLevel: 'info',
    pluginConfig: config ?? BASE_CONFIG,
    clusters: { [SIDECAR_CLUSTER]: sidecar ?? stockSidecar().handler },
    ...vmOptions,
  });
  if (!vm.start()) throw new Error(`filter did not start: ${vm.logs.map((l) => l.message).join('; ')}`);
  return vm;
}

export function checkoutHeaders(extra: HeaderPairs = [], path = '/checkout'): HeaderPairs {
  return [
    [':method', 'POST'],
    [':path', path],
    [':authority', 'shop.example'],
    [':scheme', 'https'],
    ['content-type', 'application/json'],
    ['x-request-id', 'req-0001'],
    ...extra,
  ];
}

/** checkoutHeaders with another x-request-id (and path). */
export function headersWithId(requestId: string, path = '/checkout'): HeaderPairs {
  return checkoutHeaders([], path).map(([k, v]): [string, string] =>
    k === 'x-request-id' ? [k, requestId] : [k, v],
  );
}

export const IN_STOCK_BODY = JSON.stringify({
  items: [
    { sku: 'SKU-00001', qty: 2 },
    { sku: 'SKU-00002', qty: 1 },
  ],
  buyer_zone: 'DE-10',
});

export const OUT_OF_STOCK_BODY = JSON.stringify({
  items: [{ sku: 'OOS-00009', qty: 1 }],
  buyer_zone: 'DE-10',
});

/** Sends headers and a body in one chunk, then waits for the filter's decision. */
export async function sendCheckout(
  vm: ProxyWasmVm,
  body: string | Uint8Array,
  headers: HeaderPairs = checkoutHeaders(),
): Promise<{ stream: HttpStream; state: StreamState }> {
  const stream = vm.newHttpStream();
  stream.requestHeaders(headers, false);
  stream.requestBody(body, true);
  const state = await stream.settled();
  return { stream, state };
}

export function header(pairs: HeaderPairs, name: string): string | undefined {
  return pairs.find(([k]) => k === name)?.[1];
}

/** The JSON body of a local reply (throws when the state is not one). */
export function replyJson(state: StreamState): Record<string, unknown> {
  if (state.kind !== 'local-reply') throw new Error(`expected a local reply, got ${state.kind}`);
  return JSON.parse(Buffer.from(state.body).toString('utf8')) as Record<string, unknown>;
}

/** A handler that answers after delayMs (or never resolves when delayMs is Infinity). */
export function slowSidecar(delayMs: number, answer: HttpCallResponse): ClusterHandler {
  return (_call, signal) =>
    new Promise((resolve) => {
      if (!Number.isFinite(delayMs)) return;
      const timer = setTimeout(() => resolve(answer), delayMs);
      signal.addEventListener('abort', () => clearTimeout(timer));
    });
}

/** A clock the test moves by hand (milliseconds since the epoch), for VMs started with `now: clock.now`. */
export class FakeClock {
  constructor(public ms = 1_700_000_000_000) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Default snapshot_period_ms of the filter. */
export const SNAPSHOT_PERIOD_MS = 500;

/**
 * Lets one snapshot period pass on `clock` and ticks: the filter adopts what
 * other workers shared and pulls the snapshot from its sidecar; resolves once
 * the pull is answered.
 */
export async function pullSnapshot(vm: ProxyWasmVm, clock: FakeClock): Promise<void> {
  clock.advance(SNAPSHOT_PERIOD_MS);
  vm.tick();
  await vm.idle();
}

/** FNV-1a 32 of the UTF-16 code units, mod 100: the rollout bucket the filter and the sidecar compute. */
export function rolloutBucket(requestId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < requestId.length; i++) {
    h ^= requestId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 100;
}
