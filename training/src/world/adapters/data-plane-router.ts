/**
 * The world's Router over real data planes (the compiled filter in front of
 * the world's order service, one per sidecar pod): each checkout is a
 * `POST /checkout` with `{"buyer_zone", "items": [{"sku", "qty"}]}`, its
 * checkout id as `x-request-id` and a synthetic session key as
 * `x-atp-session`, to the pod a stable hash of the buyer zone picks (as a
 * mesh's locality routing would keep a zone on its pod), over keep-alive
 * connections.
 *
 * Answers:
 * - 201 (the filter let the order through; the order service echoes
 *   `{decision, decision_id, node, degraded, reason}`): allow. Without a
 *   node (the filter allowed on a wide last-known margin, or bypassed ATP)
 *   the allow carries node null and the world picks the node; a bypass has
 *   no decision id and gets `world-<checkout id>`;
 * - 409 (a deny, the sidecar's or the filter's): deny, with the decision id
 *   and the degradations of `x-atp-degraded`;
 * - 503 and anything else, a timeout or a broken connection: error (reason
 *   `http-<status>`, `timeout` or the socket's error code), never a promise.
 *
 * Session keys: the simulator has no buyer identities, so each checkout's
 * buyer is drawn from a fixed synthetic population per zone by a hash of
 * (seed, checkout id); a buyer's checkouts share one opaque key for the
 * whole run, and the same seed gives the same keys. Nothing user-level
 * exists to leak (DESIGN §7).
 */
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { AtpError } from '@mercato/platform/errors';
import { partitionForKey } from '@mercato/proto/v1/partition-for-key';
import { ERR } from '../../errors.js';
import type { Router, RouterAnswer, WorldCheckout } from '../world-ports.js';

export const DEFAULT_CHECKOUT_PATH = '/checkout';
/** Wall ms a checkout call may take; far beyond the filter's own budget, a hung pod must not hold a slot. */
export const DEFAULT_CALL_TIMEOUT_MS = 2_000;
/** Keep-alive sockets per pod: the driver's in-flight bound spread over the pods, with room. */
export const DEFAULT_MAX_SOCKETS_PER_POD = 64;
/** Synthetic buyers per zone: enough for session-keyed experiment arms to split evenly. */
export const DEFAULT_BUYERS_PER_ZONE = 1_000;
/** Answer bodies are small JSON; anything larger is not a data plane's answer. */
const MAX_BODY_BYTES = 64 * 1024;
/** Decision ids of allows that carried none (a kill-switch bypass): `world-<checkout id>`. */
export const WORLD_DECISION_PREFIX = 'world-';
const SESSION_KEY_HEX = 20;

export interface DataPlaneRouterOptions {
  /** One base URL per pod (`http://127.0.0.1:8080`). */
  endpoints: readonly string[];
  /** Default DEFAULT_CHECKOUT_PATH. */
  path?: string;
  timeoutMs?: number;
  maxSocketsPerPod?: number;
  /** The run's seed: session keys are a function of it. */
  seed?: number;
  buyersPerZone?: number;
}

/** Calls per answer status (`201`, `409`, `503`, `timeout`, `ECONNREFUSED`, ...), for the run's report. */
export type RouterStats = Record<string, number>;

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class DataPlaneRouter implements Router {
  private endpoints: URL[];
  private readonly path: string;
  private readonly timeoutMs: number;
  private readonly seed: number;
  private readonly buyersPerZone: number;
  private readonly agent: Agent;
  private readonly statusCounts = new Map<string, number>();
  private podCalls: number[];

  constructor(o: DataPlaneRouterOptions) {
    this.endpoints = parseEndpoints(o.endpoints);
    this.podCalls = this.endpoints.map(() => 0);
    this.path = o.path ?? DEFAULT_CHECKOUT_PATH;
    this.timeoutMs = o.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.seed = o.seed ?? 0;
    this.buyersPerZone = o.buyersPerZone ?? DEFAULT_BUYERS_PER_ZONE;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: o.maxSocketsPerPod ?? DEFAULT_MAX_SOCKETS_PER_POD,
    });
  }

  /** Points the router at new pod addresses (a data plane restarted on another port); same count keeps zones on their pods. */
  setEndpoints(endpoints: readonly string[]): void {
    this.endpoints = parseEndpoints(endpoints);
    if (this.podCalls.length !== this.endpoints.length) this.podCalls = this.endpoints.map(() => 0);
  }

  /** The pod (index into endpoints) that serves a buyer zone. */
  podFor(buyerZone: string): number {
    return partitionForKey(buyerZone, this.endpoints.length);
  }

  /** The checkout's synthetic session key (see the file comment). */
  sessionKey(c: WorldCheckout): string {
    const buyer = partitionForKey(`${this.seed}|${c.checkoutId}`, this.buyersPerZone);
    const digest = createHash('sha256').update(`${this.seed}|${c.buyerZone}|${buyer}`).digest('hex');
    return `s-${digest.slice(0, SESSION_KEY_HEX)}`;
  }

  /** Calls per answer status so far, and per pod. */
  stats(): { byStatus: RouterStats; byPod: readonly number[] } {
    const keys = [...this.statusCounts.keys()].sort();
    return {
      byStatus: Object.fromEntries(keys.map((k) => [k, this.statusCounts.get(k) ?? 0])),
      byPod: [...this.podCalls],
    };
  }

  async route(c: WorldCheckout): Promise<RouterAnswer> {
    const pod = this.podFor(c.buyerZone);
    this.podCalls[pod] = (this.podCalls[pod] ?? 0) + 1;
    const url = new URL(this.path, this.endpoints[pod]);
    const body = JSON.stringify({ buyer_zone: c.buyerZone, items: [{ sku: c.sku, qty: c.qty }] });
    const started = performance.now();
    let raw: RawAnswer;
    try {
      raw = await this.post(url, body, {
        'x-request-id': c.checkoutId,
        'x-atp-session': this.sessionKey(c),
      });
    } catch (err) {
      const reason = failureReason(err);
      this.count(reason);
      return { decision: 'error', reason, latencyMs: performance.now() - started };
    }
    const latencyMs = performance.now() - started;
    this.count(String(raw.status));
    return toAnswer(c, raw, latencyMs);
  }

  /** Closes the keep-alive sockets. Idempotent. */
  stop(): void {
    this.agent.destroy();
  }

  private count(key: string): void {
    this.statusCounts.set(key, (this.statusCounts.get(key) ?? 0) + 1);
  }

  private post(url: URL, body: string, headers: Record<string, string>): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) req.destroy(new TimeoutlessError('EBODYTOOLARGE'));
            else chunks.push(chunk);
          });
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new TimeoutlessError('timeout')));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** A request given up on by the router itself (its code is the answer's reason). */
class TimeoutlessError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function parseEndpoints(endpoints: readonly string[]): URL[] {
  if (endpoints.length === 0) {
    throw new AtpError(ERR.WORLD_CONFIG, 'endpoints: the router needs at least one data plane', 'endpoints');
  }
  return endpoints.map((e) => {
    try {
      return new URL(e.includes('://') ? e : `http://${e}`);
    } catch {
      throw new AtpError(ERR.WORLD_CONFIG, `endpoints: not a URL: ${JSON.stringify(e)}`, 'endpoints');
    }
  });
}

function failureReason(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : 'network';
}

function header(raw: RawAnswer, name: string): string | null {
  const v = raw.headers[name];
  const s = Array.isArray(v) ? v.join(',') : v;
  return s === undefined || s === '' ? null : s;
}

function degradedHeader(raw: RawAnswer): string[] {
  return (header(raw, 'x-atp-degraded') ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '');
}

function jsonObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function nonEmpty(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

/** Maps a data plane's HTTP answer to the driver's RouterAnswer (see the file comment). */
export function toAnswer(c: WorldCheckout, raw: RawAnswer, latencyMs: number): RouterAnswer {
  if (raw.status === 201) {
    const b = jsonObject(raw.body);
    if (b === null) return { decision: 'error', reason: 'bad-order-answer', latencyMs };
    const degraded = Array.isArray(b.degraded)
      ? b.degraded.filter((d): d is string => typeof d === 'string' && d !== '')
      : degradedHeader(raw);
    return {
      decision: 'allow',
      decisionId: nonEmpty(b.decision_id) ?? `${WORLD_DECISION_PREFIX}${c.checkoutId}`,
      node: nonEmpty(b.node),
      degradations: degraded,
      latencyMs,
    };
  }
  if (raw.status === 409) {
    const b = jsonObject(raw.body);
    const decisionId = nonEmpty(b?.decision_id) ?? header(raw, 'x-atp-decision-id');
    return {
      decision: 'deny',
      ...(decisionId === null ? {} : { decisionId }),
      degradations: degradedHeader(raw),
      latencyMs,
    };
  }
  return { decision: 'error', reason: `http-${raw.status}`, degradations: degradedHeader(raw), latencyMs };
}
