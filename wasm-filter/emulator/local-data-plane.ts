/**
 * A local data plane for development and end-to-end tests: an HTTP/1.1
 * server that runs every request through the filter (one ProxyWasmVm, like
 * one Envoy worker), forwards continued requests to the upstream with the
 * headers the filter set, streams the upstream response back through the
 * filter, answers local replies, and sends the filter's HTTP calls to the
 * configured clusters over real HTTP.
 *
 * Production is Envoy (see mesh-config/) running the same .wasm; this stands
 * in for it where Envoy cannot run. Like Envoy's connection manager it adds
 * x-request-id when the client sent none, drops hop-by-hop headers, and
 * answers 503 when the upstream cannot be reached.
 *
 * Readiness: `GET /__atp/ready` (READINESS_PATH) is answered by the data
 * plane itself, never forwarded nor filtered: 200 while the filter serves,
 * 503 once it has failed (refused its configuration or trapped: Envoy would
 * answer 503 to every request then) or while the data plane stops.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  Agent,
  type ClientRequest,
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { AtpError } from '@mercato/platform/errors';
import { closeHttp, listenHttp } from '@mercato/platform/servers';
import { ERR } from '../errors.js';
import type { LogLevelName } from './abi.js';
import type { HeaderPairs } from './header-pairs.js';
import type { ClusterAddress } from './http-cluster-client.js';
import type { HttpStream } from './http-stream.js';
import { type HttpCallFailureMode, type LogEntry, ProxyWasmVm } from './proxy-wasm-vm.js';
import { DEFAULT_LOG_LEVEL } from './vm-options.js';

/** Hop-by-hop headers: never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
]);
const UPSTREAM_UNREACHABLE_BODY =
  'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
const INTERNAL_ERROR_STATUS = 500;
const READY_STATUS = 200;
const NOT_READY_STATUS = 503;
const DEFAULT_LISTEN_HOST = '127.0.0.1';
const DEFAULT_ROOT_ID = 'atp_filter';
const DEFAULT_VM_ID = 'atp';
/**
 * How long requests in flight may take to finish once stop() began. Short: a
 * request paused on the sidecar is answered within its timeout (25 ms by
 * default) plus one tick, and a local stand-in for Envoy has no drain to honour.
 */
export const STOP_GRACE_MS = 250;
/** Where a probe (kubelet, a test, the world) asks whether the data plane serves. */
export const READINESS_PATH = '/__atp/ready';

export interface LocalDataPlaneOptions {
  /** Port to listen on; 0 picks a free one (see start()'s result). */
  port: number;
  host?: string;
  wasmPath: string;
  pluginConfig: string | object;
  upstream: ClusterAddress;
  /** Clusters the filter may call (e.g. 'atp-sidecar'), reached over HTTP. */
  clusters: Record<string, ClusterAddress>;
  vmId?: string;
  rootId?: string;
  logLevel?: LogLevelName;
  onLog?: (entry: LogEntry) => void;
  /** Default 'envoy-local-reply', as Envoy (see ProxyWasmVmOptions.httpCallFailures). */
  httpCallFailures?: HttpCallFailureMode;
  /** Path answered by the data plane itself with its readiness (default READINESS_PATH). */
  readinessPath?: string;
  /** The filter's clock, ms since the epoch (default: the real clock; a closed-loop world passes its world clock). */
  now?: () => number;
}

export interface LocalDataPlane {
  /** Loads and configures the filter, then listens. Rejects when the filter refuses its configuration. */
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
  /** The VM serving requests (undefined before start), for logs, metrics and traps. */
  readonly vm: ProxyWasmVm | undefined;
}

export function createLocalDataPlane(options: LocalDataPlaneOptions): LocalDataPlane {
  let vm: ProxyWasmVm | undefined;
  let server: Server | undefined;
  let stopping = false;
  const upstreamAgent = new Agent({ keepAlive: true });
  const readinessPath = options.readinessPath ?? READINESS_PATH;

  return {
    get vm() {
      return vm;
    },

    async start() {
      if (server !== undefined) {
        throw new AtpError(ERR.EMULATOR_MISUSE, 'the local data plane is already started');
      }
      const loaded = await ProxyWasmVm.load(await readFile(options.wasmPath), {
        vmId: options.vmId ?? DEFAULT_VM_ID,
        rootId: options.rootId ?? DEFAULT_ROOT_ID,
        pluginConfig: options.pluginConfig,
        clusters: options.clusters,
        autoTick: true,
        logLevel: options.logLevel ?? DEFAULT_LOG_LEVEL,
        ...(options.onLog !== undefined ? { onLog: options.onLog } : {}),
        ...(options.httpCallFailures !== undefined ? { httpCallFailures: options.httpCallFailures } : {}),
        ...(options.now !== undefined ? { now: options.now } : {}),
      });
      if (!loaded.start()) {
        const reasons = loaded.logsAtOrAbove('error').map((e) => e.message);
        loaded.close();
        throw new AtpError(ERR.FILTER_REFUSED_TO_START, `the filter refused to start: ${reasons.join('; ')}`);
      }
      vm = loaded;
      stopping = false;
      const listening = createServer((req, res) => {
        if (isReadinessProbe(req, readinessPath)) {
          answerReadiness(res, readiness(loaded, stopping));
          return;
        }
        try {
          serve(loaded, req, res, options.upstream, upstreamAgent);
        } catch (err) {
          if (!res.headersSent) res.writeHead(INTERNAL_ERROR_STATUS, { 'content-type': 'text/plain' });
          res.end(`local data plane error: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
      server = listening;
      return { port: await listenHttp(listening, options.port, options.host ?? DEFAULT_LISTEN_HOST) };
    },

    async stop() {
      stopping = true;
      const listening = server ?? null;
      server = undefined;
      await closeHttp(listening, STOP_GRACE_MS);
      upstreamAgent.destroy();
      vm?.close();
    },
  };
}

/** Why the data plane does not serve, or null when it does. */
function readiness(vm: ProxyWasmVm, stopping: boolean): string | null {
  if (stopping) return 'stopping';
  if (vm.failed) return 'the filter has failed (see its error log)';
  return null;
}

function isReadinessProbe(req: IncomingMessage, path: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return (query < 0 ? url : url.slice(0, query)) === path;
}

function answerReadiness(res: ServerResponse, notReady: string | null): void {
  const body = JSON.stringify(notReady === null ? { ready: true } : { ready: false, reason: notReady });
  res.writeHead(notReady === null ? READY_STATUS : NOT_READY_STATUS, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** One client request through the filter. */
function serve(
  vm: ProxyWasmVm,
  req: IncomingMessage,
  res: ServerResponse,
  upstream: ClusterAddress,
  agent: Agent,
): void {
  const stream = vm.newHttpStream({
    properties: { 'source.address': `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? 0}` },
  });
  res.on('close', () => stream.end());
  // An emulator error must fail this request, never the process.
  const safely = (step: () => void) => {
    try {
      step();
    } catch (err) {
      if (!res.headersSent) res.writeHead(INTERNAL_ERROR_STATUS, { 'content-type': 'text/plain' });
      res.end(`local data plane error: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  stream.onDownstream((event) => {
    if (event.type === 'headers') {
      const { status, headers } = toNodeHeaders(event.headers);
      res.writeHead(status, headers);
      if (event.endOfStream) res.end();
    } else if (event.type === 'data') {
      res.write(event.data);
      if (event.endOfStream) res.end();
    } else if (event.type === 'trailers') {
      res.end();
    } else {
      res.destroy();
    }
  });
  let upstreamRequest: ClientRequest | undefined;
  stream.onUpstream((event) => {
    if (event.type === 'headers') {
      upstreamRequest = forward(stream, event.headers, upstream, agent, safely);
      if (event.endOfStream) upstreamRequest.end();
    } else if (event.type === 'data') {
      upstreamRequest?.write(event.data);
      if (event.endOfStream) upstreamRequest?.end();
    } else if (event.type === 'trailers') {
      upstreamRequest?.end();
    } else {
      upstreamRequest?.destroy();
    }
  });

  const hasBody =
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') ||
    req.headers['transfer-encoding'] !== undefined;
  stream.requestHeaders(requestPairs(req), !hasBody);
  if (!hasBody) {
    req.resume();
    return;
  }
  req.on('data', (chunk: Buffer) => safely(() => stream.requestBody(chunk, false)));
  req.on('end', () => safely(() => stream.requestBody(new Uint8Array(0), true)));
}

/** Opens the upstream request with the headers the filter released; the response goes back through the filter. */
function forward(
  stream: HttpStream,
  pairs: HeaderPairs,
  upstream: ClusterAddress,
  agent: Agent,
  safely: (step: () => void) => void,
): ClientRequest {
  const pseudo = new Map(pairs.filter(([k]) => k.startsWith(':')));
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    if (k.startsWith(':') || HOP_BY_HOP.has(k) || k === 'host') continue;
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  headers.host = pseudo.get(':authority') ?? `${upstream.host}:${upstream.port}`;
  const request = httpRequest(
    {
      host: upstream.host,
      port: upstream.port,
      method: pseudo.get(':method') ?? 'GET',
      path: pseudo.get(':path') ?? '/',
      headers,
      agent,
    },
    (response) => {
      const responsePairs: HeaderPairs = [[':status', String(response.statusCode ?? 502)]];
      for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
        const key = (response.rawHeaders[i] ?? '').toLowerCase();
        if (!HOP_BY_HOP.has(key)) responsePairs.push([key, response.rawHeaders[i + 1] ?? '']);
      }
      safely(() => stream.responseHeaders(responsePairs, false));
      response.on('data', (chunk: Buffer) => safely(() => stream.responseBody(chunk, false)));
      response.on('end', () => safely(() => stream.responseBody(new Uint8Array(0), true)));
    },
  );
  request.on('error', () => {
    // Envoy's router answers 503 when the upstream cannot be reached before response headers.
    if (stream.responseResult.kind !== 'idle') return;
    const body = Buffer.from(UPSTREAM_UNREACHABLE_BODY);
    const headers: HeaderPairs = [
      [':status', '503'],
      ['content-type', 'text/plain'],
      ['content-length', String(body.length)],
    ];
    safely(() => {
      stream.responseHeaders(headers, false);
      stream.responseBody(body, true);
    });
  });
  return request;
}

function requestPairs(req: IncomingMessage): HeaderPairs {
  const pairs: HeaderPairs = [
    [':method', req.method ?? 'GET'],
    [':path', req.url ?? '/'],
    [':authority', req.headers.host ?? ''],
    [':scheme', 'http'],
  ];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const key = (req.rawHeaders[i] ?? '').toLowerCase();
    if (key === 'host' || HOP_BY_HOP.has(key)) continue;
    pairs.push([key, req.rawHeaders[i + 1] ?? '']);
  }
  // Envoy's connection manager generates a request id before any filter runs.
  if (req.headers['x-request-id'] === undefined) pairs.push(['x-request-id', randomUUID()]);
  return pairs;
}

function toNodeHeaders(pairs: HeaderPairs): { status: number; headers: Record<string, string | string[]> } {
  let status = 200;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    if (k === ':status') {
      status = Number(v);
      continue;
    }
    if (k.startsWith(':') || HOP_BY_HOP.has(k)) continue;
    const prev = headers[k];
    headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return { status, headers };
}
