/**
 * One direction of an HTTP stream (request or response) as the host holds
 * it: headers, trailers, body data held while the filter stops iteration and
 * what was passed on; plus the stream's states, the events a flow passes on,
 * the hooks of each phase and the answers Envoy gives on a filter's behalf.
 */
import { WasmResult } from './abi.js';
import { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import type { BufferAccess } from './host-backend.js';

export type StreamState =
  /** Nothing delivered yet. */
  | { kind: 'idle' }
  /** The filter holds the headers (waiting for the body, or for a callout). */
  | { kind: 'paused' }
  /** Headers passed on, as the filter left them. */
  | { kind: 'continued'; headers: HeaderPairs }
  /** Answered by the filter (or the host on its behalf); nothing reached, or will reach, the other side. */
  | { kind: 'local-reply'; status: number; headers: HeaderPairs; body: Uint8Array; details: string }
  /** The stream was reset (closed by the filter, VM failure, or ended while paused). */
  | { kind: 'reset'; reason: string };

/** What a flow passes on: to the upstream (request) or to the client (response). */
export type FlowEvent =
  | { type: 'headers'; headers: HeaderPairs; endOfStream: boolean }
  | { type: 'data'; data: Uint8Array; endOfStream: boolean }
  | { type: 'trailers'; trailers: HeaderPairs }
  | { type: 'reset'; reason: string };

export type Direction = 'request' | 'response';
export type Phase = 'none' | 'headers' | 'body' | 'trailers' | 'log';

export const HOOKS = {
  request: {
    headers: 'proxy_on_request_headers',
    body: 'proxy_on_request_body',
    trailers: 'proxy_on_request_trailers',
  },
  response: {
    headers: 'proxy_on_response_headers',
    body: 'proxy_on_response_body',
    trailers: 'proxy_on_response_trailers',
  },
} as const;

/** Envoy's answers when a held body outgrows the buffer limit. */
export const REQUEST_TOO_LARGE = {
  status: 413,
  body: 'Payload Too Large',
  details: 'request_payload_too_large',
};
export const RESPONSE_TOO_LARGE = {
  status: 500,
  body: 'Internal Server Error',
  details: 'response_payload_too_large',
};
/** Envoy's answer when the plugin has failed and fail_open is off (or failed during this stream). */
export const WASM_FAILED = { status: 503, body: '', details: 'wasm_fail_stream' };

export class Flow {
  readonly headers = new HeaderMap();
  readonly trailers = new HeaderMap();
  headersSeen = false;
  headersReleased = false;
  trailersSeen = false;
  trailersReleased = false;
  endOfStreamSeen = false;
  endOfStreamReleased = false;
  /** Headers returned StopAllIteration*: the host holds body data without showing it to the filter. */
  stopAll = false;
  /** Body data held by the host while the filter stops iteration. */
  held: Uint8Array[] = [];
  /** The buffer the filter sees during its body hook (held data + the new chunk). */
  current: Uint8Array | undefined;
  released: Uint8Array[] = [];
  listeners: Array<(event: FlowEvent) => void> = [];

  heldBytes(): number {
    return this.held.reduce((n, c) => n + c.length, 0);
  }

  /** The headers (or trailers) host calls may use: once seen, and until passed on (any time in the log phase). */
  headerMap(trailers: boolean, inLog: boolean): HeaderMap | undefined {
    if (trailers) return this.trailersSeen && (inLog || !this.trailersReleased) ? this.trailers : undefined;
    return this.headersSeen && (inLog || !this.headersReleased) ? this.headers : undefined;
  }

  /** The body as host calls see it: the chunk under inspection during the body hook, else what the host holds. */
  bodyBuffer(inHook: boolean): BufferAccess {
    const current = () => (inHook && this.current !== undefined ? this.current : Buffer.concat(this.held));
    return {
      bytes: current,
      set: (start, length, data) => {
        const next = copyFrom(current(), start, length, data);
        if (next === undefined) return WasmResult.BadArgument;
        if (inHook) this.current = next;
        else this.held = [next];
        return WasmResult.Ok;
      },
    };
  }
}

/** Envoy's Buffer::copyFrom for HTTP bodies: prepend, replace all, or append; anything else is refused. */
function copyFrom(
  existing: Uint8Array,
  start: number,
  length: number,
  data: Uint8Array,
): Uint8Array | undefined {
  if (start === 0 && length === 0) return Buffer.concat([data, existing]);
  if (start === 0 && length >= existing.length) return data.slice();
  if (start >= existing.length) return Buffer.concat([existing, data]);
  return undefined;
}
