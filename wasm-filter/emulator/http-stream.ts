/**
 * One HTTP stream (request + response) through the filter, driven step by
 * step like Envoy's filter manager drives an HTTP filter:
 *
 *   requestHeaders -> requestBody* -> (requestTrailers) -> responseHeaders -> responseBody* -> end
 *
 * Each step calls the matching proxy_on_* hook and applies its status:
 * Continue passes data on (to the upstream for the request, to the client for
 * the response), Stop* holds it until proxy_continue_stream, and a local reply
 * ends the request side. Envoy rules kept here: request headers are readable
 * and writable only while held (once passed on, the host drops them); a body
 * held with StopIterationAndBuffer beyond the buffer limit is answered 413 by
 * the host; a local reply goes back through the filter's response hooks.
 */
import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import { FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus } from './abi.js';
import { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import type { BufferAccess, LocalReplyRequest } from './host-backend.js';
import {
  type Direction,
  Flow,
  type FlowEvent,
  HOOKS,
  type Phase,
  REQUEST_TOO_LARGE,
  RESPONSE_TOO_LARGE,
  type StreamState,
  WASM_FAILED,
} from './stream-flow.js';

export type { FlowEvent, StreamState } from './stream-flow.js';

/** What an HttpStream needs from its VM (implemented by ProxyWasmVm). */
export interface StreamHost {
  readonly failed: boolean;
  readonly failOpen: boolean;
  readonly bufferLimitBytes: number;
  /** proxy_on_context_create for this stream; false when the VM has failed. */
  createStreamContext(stream: HttpStream): boolean;
  /** Calls a stream hook; undefined when the VM has failed (before or during the call). */
  callStreamHook(stream: HttpStream, hook: string, args: number[]): number | undefined;
  /** The stream is over; the host forgets its context. */
  releaseStream(stream: HttpStream): void;
}

export class HttpStream {
  readonly id: number;
  /** Properties set by the filter (proxy_set_property) or given at creation, by dotted path. */
  readonly properties = new Map<string, Uint8Array>();
  /** How many times the filter asked for a local reply (a well-behaved filter: at most 1). */
  localReplyRequests = 0;

  private readonly host: StreamHost;
  private readonly request = new Flow();
  private readonly response = new Flow();
  private phase: { direction: Direction; phase: Phase } = { direction: 'request', phase: 'none' };
  private contextCreated = false;
  private ended = false;
  private requestState: StreamState = { kind: 'idle' };
  private responseState: StreamState = { kind: 'idle' };
  private settleWaiters: Array<(state: StreamState) => void> = [];

  constructor(id: number, host: StreamHost, properties: Record<string, string | Uint8Array> = {}) {
    this.id = id;
    this.host = host;
    for (const [k, v] of Object.entries(properties)) {
      this.properties.set(k, typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
    }
  }

  /** The request's fate so far. */
  get state(): StreamState {
    return this.requestState;
  }

  /** The response side: its headers as passed to the client, paused, the local reply, or reset. */
  get responseResult(): StreamState {
    return this.responseState;
  }

  /** True once the request side is decided (continued, answered locally or reset). */
  get isSettled(): boolean {
    const k = this.requestState.kind;
    return k === 'continued' || k === 'local-reply' || k === 'reset';
  }

  /** Resolves when the request side is decided — after a sidecar callback or a tick, for instance. */
  settled(): Promise<StreamState> {
    if (this.isSettled) return Promise.resolve(this.requestState);
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  /** What reached the upstream so far: headers (undefined if none), body, and whether it ended. */
  get upstreamRequest(): { headers: HeaderPairs | undefined; body: Uint8Array; endOfStream: boolean } {
    return {
      headers: this.request.headersReleased ? this.request.headers.pairs() : undefined,
      body: Buffer.concat(this.request.released),
      endOfStream: this.request.endOfStreamReleased,
    };
  }

  /** The request headers as they stand (for request.* properties), whoever may modify them. */
  requestHeaderPairs(): HeaderPairs {
    return this.request.headers.pairs();
  }

  /** Events passed to the upstream, in order (the local data plane forwards them). */
  onUpstream(listener: (event: FlowEvent) => void): void {
    this.request.listeners.push(listener);
  }

  /** Events passed to the client: the upstream response as the filter let it through, or a local reply. */
  onDownstream(listener: (event: FlowEvent) => void): void {
    this.response.listeners.push(listener);
  }

  requestHeaders(headers: HeaderPairs | Record<string, string>, endOfStream: boolean): StreamState {
    if (this.request.headersSeen)
      throw new AtpError(ERR.EMULATOR_MISUSE, 'requestHeaders called twice on one stream');
    const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
    this.request.headersSeen = true;
    this.request.headers.setAll(pairs);
    this.request.endOfStreamSeen = endOfStream;
    if (this.host.failed) return this.onFailedPlugin();
    if (!this.host.createStreamContext(this)) return this.failStream('context creation failed');
    this.contextCreated = true;
    this.deliverHeaders('request', this.request.headers.size, endOfStream);
    return this.requestState;
  }

  requestBody(data: Uint8Array | string, endOfStream: boolean): StreamState {
    if (!this.request.headersSeen)
      throw new AtpError(ERR.EMULATOR_MISUSE, 'requestBody before requestHeaders');
    if (this.request.endOfStreamSeen)
      throw new AtpError(ERR.EMULATOR_MISUSE, 'requestBody after end of stream');
    this.request.endOfStreamSeen = endOfStream;
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.deliverBody('request', chunk, endOfStream);
    return this.requestState;
  }

  requestTrailers(trailers: HeaderPairs): StreamState {
    if (!this.request.headersSeen)
      throw new AtpError(ERR.EMULATOR_MISUSE, 'requestTrailers before requestHeaders');
    this.request.endOfStreamSeen = true;
    this.deliverTrailers('request', trailers);
    return this.requestState;
  }

  responseHeaders(headers: HeaderPairs | Record<string, string>, endOfStream: boolean): StreamState {
    if (this.response.headersSeen)
      throw new AtpError(ERR.EMULATOR_MISUSE, 'responseHeaders called twice on one stream');
    if (this.requestState.kind === 'local-reply' || this.requestState.kind === 'reset')
      return this.responseState;
    const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
    this.response.headersSeen = true;
    this.response.headers.setAll(pairs);
    this.response.endOfStreamSeen = endOfStream;
    this.deliverHeaders('response', this.response.headers.size, endOfStream);
    return this.responseState;
  }

  responseBody(data: Uint8Array | string, endOfStream: boolean): StreamState {
    if (!this.response.headersSeen)
      throw new AtpError(ERR.EMULATOR_MISUSE, 'responseBody before responseHeaders');
    if (this.response.endOfStreamSeen) return this.responseState;
    this.response.endOfStreamSeen = endOfStream;
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.deliverBody('response', chunk, endOfStream);
    return this.responseState;
  }

  /** Stream end: proxy_on_done, proxy_on_log, proxy_on_delete. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.contextCreated && !this.host.failed) {
      this.host.callStreamHook(this, 'proxy_on_done', [this.id]);
      this.phase = { direction: 'request', phase: 'log' };
      this.host.callStreamHook(this, 'proxy_on_log', [this.id]);
      this.phase = { direction: 'request', phase: 'none' };
      this.host.callStreamHook(this, 'proxy_on_delete', [this.id]);
    }
    this.host.releaseStream(this);
    if (!this.isSettled) this.setRequestState({ kind: 'reset', reason: 'stream ended before a decision' });
    this.settleWaiters = [];
  }

  // ---- Called by the VM for host calls made in this stream's context ----

  /** The header map a host call may use now; undefined means BadArgument (as Envoy answers). */
  headerMapFor(mapType: number, mutable: boolean): HeaderMap | undefined {
    const inLog = this.phase.phase === 'log';
    if (inLog && mutable) return undefined;
    if (mapType === 0) return this.request.headerMap(false, inLog);
    if (mapType === 1) return this.request.headerMap(true, inLog);
    if (mapType === 2) return this.response.headerMap(false, inLog);
    if (mapType === 3) return this.response.headerMap(true, inLog);
    return undefined;
  }

  /** The HTTP body buffer of a direction: the chunk under inspection, or what the host holds. */
  bodyBufferFor(direction: Direction): BufferAccess {
    const flow = direction === 'request' ? this.request : this.response;
    return flow.bodyBuffer(this.phase.direction === direction && this.phase.phase === 'body');
  }

  /** proxy_continue_stream, applied after the VM call that asked for it. */
  applyContinue(streamType: number): void {
    const direction: Direction = streamType === 0 ? 'request' : 'response';
    const flow = direction === 'request' ? this.request : this.response;
    if (this.requestState.kind === 'local-reply' || this.requestState.kind === 'reset') return;
    if (!flow.headersSeen) return;
    if (flow.stopAll) {
      // The host held body data without showing it to the filter: show it now.
      flow.stopAll = false;
      if (!flow.headersReleased) this.releaseHeaders(direction, false);
      if (flow.held.length > 0 || flow.endOfStreamSeen) {
        const held = Buffer.concat(flow.held);
        flow.held = [];
        this.deliverBody(direction, held, flow.endOfStreamSeen);
      }
      return;
    }
    this.releaseAll(direction);
  }

  /** proxy_close_stream: reset this side. */
  applyClose(streamType: number): void {
    if (streamType === 0 || streamType === 1) this.reset('closed by the filter');
  }

  /** proxy_send_local_response, applied after the VM call that asked for it. */
  applyLocalReply(reply: LocalReplyRequest): void {
    this.sendLocalReply(reply.status, reply.body, reply.headers, reply.details);
  }

  /** The VM failed during this stream: Envoy answers 503 wasm_fail_stream. */
  failStream(reason: string): StreamState {
    if (this.requestState.kind !== 'local-reply' && this.requestState.kind !== 'reset') {
      if (this.response.headersReleased) this.reset(`wasm failure: ${reason}`);
      else this.sendLocalReply(WASM_FAILED.status, Buffer.from(WASM_FAILED.body), [], WASM_FAILED.details);
    }
    return this.requestState;
  }

  // ---- Flow mechanics ----

  private onFailedPlugin(): StreamState {
    if (this.host.failOpen) {
      this.releaseHeaders('request', this.request.endOfStreamSeen);
      return this.requestState;
    }
    return this.failStream('plugin failed');
  }

  private deliverHeaders(direction: Direction, count: number, endOfStream: boolean): void {
    const flow = direction === 'request' ? this.request : this.response;
    this.phase = { direction, phase: 'headers' };
    const status = this.host.callStreamHook(this, HOOKS[direction].headers, [
      this.id,
      count,
      endOfStream ? 1 : 0,
    ]);
    this.phase = { direction, phase: 'none' };
    if (status === undefined || this.sideIsOver(direction)) return;
    if (status === FilterHeadersStatus.StopIteration) {
      this.markPaused(direction);
    } else if (
      status === FilterHeadersStatus.StopAllIterationAndBuffer ||
      status === FilterHeadersStatus.StopAllIterationAndWatermark
    ) {
      flow.stopAll = true;
      this.markPaused(direction);
    } else if (status === FilterHeadersStatus.ContinueAndEndStream) {
      flow.endOfStreamSeen = true;
      this.releaseHeaders(direction, true);
    } else {
      this.releaseHeaders(direction, endOfStream);
    }
  }

  private deliverBody(direction: Direction, chunk: Uint8Array, endOfStream: boolean): void {
    const flow = direction === 'request' ? this.request : this.response;
    if (this.sideIsOver(direction) || flow.endOfStreamReleased) return;
    if (flow.stopAll) {
      flow.held.push(chunk);
      this.enforceBufferLimit(direction);
      return;
    }
    flow.current = Buffer.concat([...flow.held, chunk]);
    this.phase = { direction, phase: 'body' };
    const status = this.host.callStreamHook(this, HOOKS[direction].body, [
      this.id,
      flow.current.length,
      endOfStream ? 1 : 0,
    ]);
    this.phase = { direction, phase: 'none' };
    const seen = flow.current;
    flow.current = undefined;
    if (status === undefined || this.sideIsOver(direction)) return;
    if (
      status === FilterDataStatus.StopIterationAndBuffer ||
      status === FilterDataStatus.StopIterationAndWatermark
    ) {
      flow.held = [seen];
      if (!flow.headersReleased) this.markPaused(direction);
      this.enforceBufferLimit(direction);
      return;
    }
    if (status === FilterDataStatus.StopIterationNoBuffer) {
      // The filter takes responsibility for the chunk: the host keeps nothing.
      flow.held = [];
      return;
    }
    flow.held = [seen];
    this.releaseAll(direction);
  }

  private deliverTrailers(direction: Direction, trailers: HeaderPairs): void {
    const flow = direction === 'request' ? this.request : this.response;
    if (this.sideIsOver(direction)) return;
    flow.trailersSeen = true;
    flow.trailers.setAll(trailers);
    flow.endOfStreamSeen = true;
    this.phase = { direction, phase: 'trailers' };
    const status = this.host.callStreamHook(this, HOOKS[direction].trailers, [this.id, flow.trailers.size]);
    this.phase = { direction, phase: 'none' };
    if (status === undefined || this.sideIsOver(direction)) return;
    if (status === FilterTrailersStatus.StopIteration) return;
    this.releaseAll(direction);
  }

  private enforceBufferLimit(direction: Direction): void {
    const flow = direction === 'request' ? this.request : this.response;
    if (flow.heldBytes() <= this.host.bufferLimitBytes) return;
    const answer = direction === 'request' ? REQUEST_TOO_LARGE : RESPONSE_TOO_LARGE;
    if (direction === 'response' && this.response.headersReleased) {
      this.reset('response body over the buffer limit');
      return;
    }
    this.sendLocalReply(answer.status, Buffer.from(answer.body), [], answer.details);
  }

  /** Passes on everything held: headers (if not yet), body data, trailers, end of stream. */
  private releaseAll(direction: Direction): void {
    const flow = direction === 'request' ? this.request : this.response;
    if (this.sideIsOver(direction)) return;
    const data = Buffer.concat(flow.held);
    flow.held = [];
    const endsWithData = flow.endOfStreamSeen && !flow.trailersSeen;
    if (!flow.headersReleased) {
      const endsAtHeaders = endsWithData && data.length === 0;
      this.releaseHeaders(direction, endsAtHeaders);
      if (endsAtHeaders) return;
    }
    if (data.length > 0 || (endsWithData && !flow.endOfStreamReleased)) {
      flow.released.push(data);
      flow.endOfStreamReleased = endsWithData;
      this.emit(flow, { type: 'data', data, endOfStream: endsWithData });
    }
    if (flow.trailersSeen && !flow.trailersReleased) {
      flow.trailersReleased = true;
      flow.endOfStreamReleased = true;
      this.emit(flow, { type: 'trailers', trailers: flow.trailers.pairs() });
    }
  }

  private releaseHeaders(direction: Direction, endOfStream: boolean): void {
    const flow = direction === 'request' ? this.request : this.response;
    if (flow.headersReleased) return;
    flow.headersReleased = true;
    flow.endOfStreamReleased = endOfStream;
    const headers = flow.headers.pairs();
    this.emit(flow, { type: 'headers', headers, endOfStream });
    if (direction === 'request') this.setRequestState({ kind: 'continued', headers });
    else this.responseState = { kind: 'continued', headers };
  }

  private markPaused(direction: Direction): void {
    if (direction === 'request') {
      if (this.requestState.kind === 'idle') this.setRequestState({ kind: 'paused' });
    } else if (this.responseState.kind === 'idle') {
      this.responseState = { kind: 'paused' };
    }
  }

  private sendLocalReply(status: number, body: Uint8Array, extra: HeaderPairs, details: string): void {
    if (this.requestState.kind === 'local-reply' || this.requestState.kind === 'reset') return;
    if (this.response.headersReleased) {
      // Too late for a reply: the client already has response headers.
      this.reset(`local reply ${status} after the response started`);
      return;
    }
    const headers = new HeaderMap([[':status', String(status)]]);
    const hasContentType = extra.some(([k]) => k.toLowerCase() === 'content-type');
    if (body.length > 0) {
      headers.add('content-length', String(body.length));
      if (!hasContentType) headers.add('content-type', 'text/plain');
    }
    for (const [k, v] of extra) headers.add(k, v);
    // The request side is over: whatever the upstream got is abandoned.
    if (this.request.headersReleased && !this.request.endOfStreamReleased) {
      this.emit(this.request, { type: 'reset', reason: 'local reply' });
    }
    this.request.held = [];
    // Like Envoy, the reply passes through the filter's response hooks (which may add headers).
    const response = this.response;
    response.headersSeen = true;
    response.headers.setAll(headers.pairs());
    response.endOfStreamSeen = true;
    let replyBody = body;
    if (this.contextCreated && !this.host.failed) {
      this.phase = { direction: 'response', phase: 'headers' };
      this.host.callStreamHook(this, HOOKS.response.headers, [
        this.id,
        response.headers.size,
        body.length === 0 ? 1 : 0,
      ]);
      if (body.length > 0 && !this.host.failed) {
        response.current = body;
        this.phase = { direction: 'response', phase: 'body' };
        this.host.callStreamHook(this, HOOKS.response.body, [this.id, body.length, 1]);
        replyBody = response.current ?? body;
        response.current = undefined;
      }
      this.phase = { direction: 'response', phase: 'none' };
    }
    response.headersReleased = true;
    response.endOfStreamReleased = true;
    response.released.push(replyBody);
    const finalHeaders = response.headers.pairs();
    const state: StreamState = {
      kind: 'local-reply',
      status,
      headers: finalHeaders,
      body: replyBody,
      details,
    };
    this.responseState = state;
    this.emit(response, { type: 'headers', headers: finalHeaders, endOfStream: replyBody.length === 0 });
    if (replyBody.length > 0) this.emit(response, { type: 'data', data: replyBody, endOfStream: true });
    this.setRequestState(state);
  }

  private reset(reason: string): void {
    if (this.requestState.kind === 'reset') return;
    this.emit(this.request, { type: 'reset', reason });
    this.emit(this.response, { type: 'reset', reason });
    this.request.held = [];
    this.response.held = [];
    const state: StreamState = { kind: 'reset', reason };
    this.responseState = state;
    this.setRequestState(state);
  }

  private sideIsOver(direction: Direction): boolean {
    const k = this.requestState.kind;
    if (k === 'local-reply' || k === 'reset') return true;
    return direction === 'response' && this.responseState.kind === 'reset';
  }

  private setRequestState(state: StreamState): void {
    if (this.requestState.kind === 'local-reply' || this.requestState.kind === 'reset') return;
    this.requestState = state;
    if (this.isSettled) {
      const waiters = this.settleWaiters;
      this.settleWaiters = [];
      for (const resolve of waiters) resolve(state);
    }
  }

  private emit(flow: Flow, event: FlowEvent): void {
    for (const listener of flow.listeners) listener(event);
  }
}
