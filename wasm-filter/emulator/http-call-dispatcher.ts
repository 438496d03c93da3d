/**
 * The host side of proxy_http_call: validates a call the way Envoy does,
 * hands it to its cluster (in-process handler or real HTTP), enforces the
 * call's timeout, and reports exactly one outcome per call — or none, when a
 * handler answers DROP_CALLBACK (failure injection: the callback never comes).
 */
import { WasmResult, type WasmResultCode } from './abi.js';
import { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import {
  type ClusterHandler,
  type ClusterTarget,
  createHttpClusterClient,
  DROP_CALLBACK,
  type HttpCallRequest,
  type HttpCallResponse,
  type HttpClusterClient,
  isClusterAddress,
} from './http-cluster-client.js';

const TOKEN_RANGE = 2 ** 32;

export interface HttpCallRecord {
  token: number;
  cluster: string;
  request: HttpCallRequest;
  outcome: 'pending' | 'response' | 'timeout' | 'error' | 'dropped' | 'cancelled';
  status?: number;
  error?: string;
}

/** What happened to a call, for the callback. */
export type HttpCallOutcome =
  | { kind: 'response'; response: HttpCallResponse }
  | { kind: 'timeout' }
  | { kind: 'error'; error: unknown };

interface PendingCall {
  record: HttpCallRecord;
  abort: AbortController;
  timer?: NodeJS.Timeout;
  settled: boolean;
}

export class HttpCallDispatcher {
  /** Every call dispatched, with its fate. */
  readonly records: HttpCallRecord[] = [];
  private readonly handlers = new Map<string, ClusterHandler>();
  private readonly clients: HttpClusterClient[] = [];
  private readonly pending = new Map<number, PendingCall>();
  private readonly idleWaiters: Array<() => void> = [];
  private nextToken = 1;

  constructor(
    clusters: Record<string, ClusterTarget>,
    private readonly onOutcome: (token: number, outcome: HttpCallOutcome) => void,
  ) {
    for (const [name, target] of Object.entries(clusters)) {
      if (isClusterAddress(target)) {
        const client = createHttpClusterClient(target);
        this.clients.push(client);
        this.handlers.set(name, client.handler);
      } else {
        this.handlers.set(name, target);
      }
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Starts a call, or refuses it as Envoy would: BadArgument for a negative
   * timeout, an unknown cluster, or a missing :method, :path or :authority.
   * The handler runs asynchronously, after the current guest call.
   */
  dispatch(
    cluster: string,
    headers: HeaderPairs,
    body: Uint8Array,
    trailers: HeaderPairs,
    timeoutMs: number,
  ): { result: WasmResultCode; token: number } {
    const refused = { result: WasmResult.BadArgument, token: 0 };
    if (timeoutMs < 0) return refused;
    const handler = this.handlers.get(cluster);
    if (handler === undefined) return refused;
    const map = new HeaderMap(headers);
    if (
      map.get(':path') === undefined ||
      map.get(':method') === undefined ||
      map.get(':authority') === undefined
    ) {
      return refused;
    }
    if (body.length > 0) map.replace('content-length', String(body.length));
    const token = this.takeToken();
    const record: HttpCallRecord = {
      token,
      cluster,
      request: { cluster, token, headers: map.pairs(), body, trailers, timeoutMs },
      outcome: 'pending',
    };
    this.records.push(record);
    const call: PendingCall = { record, abort: new AbortController(), settled: false };
    this.pending.set(token, call);
    // Timeout 0 means none, as for Envoy's async client.
    if (timeoutMs > 0) call.timer = setTimeout(() => this.settle(call, { kind: 'timeout' }), timeoutMs);
    Promise.resolve()
      .then(() => (call.settled ? DROP_CALLBACK : handler(record.request, call.abort.signal)))
      .then(
        (response) => this.settle(call, response === DROP_CALLBACK ? 'drop' : { kind: 'response', response }),
        (error: unknown) => this.settle(call, { kind: 'error', error }),
      );
    return { result: WasmResult.Ok, token };
  }

  /** Resolves once no call is pending. */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels every pending call without callbacks and closes HTTP clients. */
  close(): void {
    for (const call of this.pending.values()) {
      call.settled = true;
      call.record.outcome = 'cancelled';
      if (call.timer !== undefined) clearTimeout(call.timer);
      call.abort.abort();
    }
    this.pending.clear();
    this.notifyIdle();
    for (const client of this.clients) client.close();
  }

  private settle(call: PendingCall, outcome: HttpCallOutcome | 'drop'): void {
    if (call.settled) return;
    call.settled = true;
    if (call.timer !== undefined) clearTimeout(call.timer);
    this.pending.delete(call.record.token);
    const record = call.record;
    if (outcome === 'drop') {
      record.outcome = 'dropped';
    } else if (outcome.kind === 'response') {
      record.outcome = 'response';
      record.status = outcome.response.status;
    } else if (outcome.kind === 'timeout') {
      record.outcome = 'timeout';
      call.abort.abort();
    } else {
      record.outcome = 'error';
      record.error = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    }
    if (outcome !== 'drop') this.onOutcome(record.token, outcome);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.pending.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private takeToken(): number {
    let token = this.nextToken;
    while (token === 0 || this.pending.has(token)) token = (token + 1) % TOKEN_RANGE;
    this.nextToken = (token + 1) % TOKEN_RANGE;
    return token;
  }
}
