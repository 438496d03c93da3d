/**
 * The decision explorer's outcome: what the region's evaluation service (the
 * outcome join, GET /v1/decisions/<id>/outcome) knows of a decision, and the
 * served feature rows a sidecar kept with it. Both come from other processes
 * and are untrusted: bodies are size-bounded by the fetch, then parsed here
 * into typed values (lengths, counts, enums, finite numbers); anything else
 * is refused with the field named, and the explorer says why it shows none.
 */
import { OUTCOME_STATUSES } from '@mercato/proto/v1/order-outcome';
import {
  asObject,
  ContractError,
  type Obj,
  parseJsonText,
  reqArray,
  reqBool,
  reqEnum,
  reqId,
  reqInt,
  reqNumber,
} from '@mercato/proto/v1/validate';

/** Items of one decision the console shows (a checkout asks for a few; the decision API caps them). */
export const MAX_OUTCOME_ITEMS = 200;
/** Served rows of one decision (the sidecar's ring keeps at most 256). */
export const MAX_SERVED_ROWS = 256;
/** Features in one served row (FEATURE_NAMES has a few dozen). */
export const MAX_SERVED_FEATURES = 128;
/** Per outcome lookup of an evaluation service: a slow one leaves the explorer waiting no longer. */
export const OUTCOME_TIMEOUT_MS = 3_000;
/** An outcome body larger than this is refused (a decision's is well under a KiB per item). */
export const MAX_OUTCOME_BYTES = 256 * 1024;

const STATES = ['pending', 'resolved', 'unresolved', 'nothing-promised'] as const;
const MAX_MS = 8.64e15;
const FEATURE_NAME_RE = /^[a-z][a-z0-9_]{0,63}$/;

export interface ItemOutcomeView {
  status: (typeof OUTCOME_STATUSES)[number];
  node: string;
  units_picked: number;
  due_at_ms: number;
  resolved_at_ms: number;
  on_time: boolean;
}

export interface DecisionOutcomeView {
  decision_id: string;
  ts_ms: number;
  window_closes_at_ms: number;
  state: (typeof STATES)[number];
  items: { sku: string; qty: number; promised: boolean; node: string; outcome: ItemOutcomeView | null }[];
}

/** What the explorer shows under "Outcome": the join's answer, or null and why. */
export interface ConsoleOutcome {
  /** The evaluation service that answered (null: none did). */
  evaluation: string | null;
  outcome: DecisionOutcomeView | null;
  reason: string | null;
}

/** A node id, or '' when nothing was promised. */
function nodeOf(o: Obj, key: string, prefix: string): string {
  return o[key] === '' ? '' : reqId(o, key, prefix);
}

/** The body of GET /v1/decisions/<id>/outcome, parsed; a ContractError names the field. */
export function parseDecisionOutcome(raw: unknown): DecisionOutcomeView {
  const o = asObject(raw, '$');
  const items = reqArray(o, 'items', '', 1, MAX_OUTCOME_ITEMS).map((x, i) => {
    const p = `items[${i}]`;
    const it = asObject(x, p);
    const out = it.outcome === null ? null : asObject(it.outcome, `${p}.outcome`);
    const q = `${p}.outcome`;
    return {
      sku: reqId(it, 'sku', p),
      qty: reqInt(it, 'qty', p, 0, 1_000_000),
      promised: reqBool(it, 'promised', p),
      node: nodeOf(it, 'node', p),
      outcome:
        out === null
          ? null
          : {
              status: reqEnum(out, 'status', q, OUTCOME_STATUSES),
              node: nodeOf(out, 'node', q),
              units_picked: reqInt(out, 'units_picked', q, 0, 1_000_000),
              due_at_ms: reqInt(out, 'due_at_ms', q, 0, MAX_MS),
              resolved_at_ms: reqInt(out, 'resolved_at_ms', q, 0, MAX_MS),
              on_time: reqBool(out, 'on_time', q),
            },
    };
  });
  return {
    decision_id: reqId(o, 'decision_id', ''),
    ts_ms: reqInt(o, 'ts_ms', '', 0, MAX_MS),
    window_closes_at_ms: reqInt(o, 'window_closes_at_ms', '', 0, MAX_MS),
    state: reqEnum(o, 'state', '', STATES),
    items,
  };
}

export interface ServedRowView {
  sku: string;
  node: string;
  /** null: the sidecar served a non-finite value (NaN serializes as null). */
  features: Record<string, number | null>;
}

/** A sidecar's `served_features`, parsed and bounded (absent: an older sidecar, none). */
export function parseServedFeatures(raw: unknown): ServedRowView[] {
  if (raw === undefined || raw === null) return [];
  const rows = reqArray({ served_features: raw }, 'served_features', '', 0, MAX_SERVED_ROWS);
  return rows.map((x, i) => {
    const p = `served_features[${i}]`;
    const r = asObject(x, p);
    const f = asObject(r.features, `${p}.features`);
    const names = Object.keys(f);
    if (names.length > MAX_SERVED_FEATURES)
      throw new ContractError(`${p}.features`, `more than ${MAX_SERVED_FEATURES} features`);
    const features: Record<string, number | null> = {};
    for (const name of names) {
      if (!FEATURE_NAME_RE.test(name)) throw new ContractError(`${p}.features`, 'bad feature name');
      // A non-finite float serializes as null: shown as such, not a reason to refuse the row.
      features[name] =
        f[name] === null ? null : reqNumber(f, name, `${p}.features`, -Number.MAX_VALUE, Number.MAX_VALUE);
    }
    return { sku: reqId(r, 'sku', p), node: reqId(r, 'node', p), features };
  });
}

/**
 * Asks each evaluation service (base URLs) for the decision's outcome; the
 * first that knows it answers. None configured, none knowing it, or none
 * answering: outcome null with the reason.
 */
export async function outcomeFromEvaluation(
  urls: readonly string[],
  id: string,
  region: string,
): Promise<ConsoleOutcome> {
  if (urls.length === 0)
    return {
      evaluation: null,
      outcome: null,
      reason: `no evaluation service of ${region} is known to the console (serve --scrape ${region}:evaluation:URL)`,
    };
  const misses: string[] = [];
  for (const url of urls) {
    try {
      const res = await fetch(`${url}/v1/decisions/${encodeURIComponent(id)}/outcome`, {
        signal: AbortSignal.timeout(OUTCOME_TIMEOUT_MS),
      });
      const text = await boundedText(res);
      if (res.status === 404) {
        misses.push(`${url}: not joined (yet)`);
        continue;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const outcome = parseDecisionOutcome(parseJsonText(text));
      if (outcome.decision_id !== id) throw new ContractError('decision_id', 'another decision answered');
      return { evaluation: url, outcome, reason: null };
    } catch (err) {
      const e = err as Error;
      misses.push(`${url}: ${e instanceof ContractError ? `refused (${e.message})` : e.message}`);
    }
  }
  return { evaluation: null, outcome: null, reason: misses.join('; ') };
}

async function boundedText(res: Response): Promise<string> {
  if (Number(res.headers.get('content-length') ?? 0) > MAX_OUTCOME_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`body over ${MAX_OUTCOME_BYTES} B`);
  }
  const text = await res.text();
  if (text.length > MAX_OUTCOME_BYTES) throw new Error(`body over ${MAX_OUTCOME_BYTES} B`);
  return text;
}
