/**
 * The acknowledgement a sidecar sends on the WatchAndAck stream
 * (proto/v1/control.proto, message Ack): the version and content hash of
 * the snapshot it SERVES after verifying and applying an event (or after
 * refusing one, with the refusal's code and the version it refused). The
 * control plane reports these, not what it sent (finding 1).
 *
 * `watchAck(...)` builds the wire message a sidecar writes;
 * `parseWatchAck(raw)` is the control plane's check of one it received.
 * Pure: no I/O.
 */
import { asObject, ContractError } from './validate.js';

/** Wire shape (proto-loader keepCase; 64-bit fields as decimal strings or numbers). */
export interface WatchAckMsg {
  version: string | number;
  content_hash: string;
  applied_at_ms: string | number;
  refused_code?: string;
  refused_version?: string | number;
}

export interface WatchAck {
  /** Version in force at the sidecar (0: its embedded default). */
  version: number;
  contentHash: string;
  appliedAtMs: number;
  /** The code of the last refusal, when this ack reports one (e.g. ATP_ERR_SNAPSHOT_SIGNATURE_INVALID). */
  refusedCode: string | null;
  refusedVersion: number | null;
}

const CODE_RE = /^ATP_ERR_[A-Z0-9_]{1,64}$/;
const MAX_HASH_LENGTH = 128;

/** The Ack a sidecar sends for the snapshot it serves (`held`), optionally reporting a refusal. */
export function watchAck(
  held: { version: number; contentHash: string } | null,
  appliedAtMs: number,
  refused?: { code: string; version: number },
): { ack: WatchAckMsg } {
  return {
    ack: {
      version: String(held?.version ?? 0),
      content_hash: held?.contentHash ?? '',
      applied_at_ms: String(Math.trunc(appliedAtMs)),
      ...(refused === undefined
        ? {}
        : { refused_code: refused.code, refused_version: String(refused.version) }),
    },
  };
}

/** Parses an Ack from the wire; throws ContractError naming the field. */
export function parseWatchAck(raw: unknown): WatchAck {
  const o = asObject(raw, 'ack');
  const version = u64(o.version, 'ack.version');
  const contentHash = o.content_hash ?? '';
  if (typeof contentHash !== 'string' || contentHash.length > MAX_HASH_LENGTH) {
    throw new ContractError('ack.content_hash', `expected a string of at most ${MAX_HASH_LENGTH} characters`);
  }
  const code = o.refused_code ?? '';
  if (typeof code !== 'string' || (code !== '' && !CODE_RE.test(code))) {
    throw new ContractError('ack.refused_code', 'expected an ATP_ERR_* code or empty');
  }
  return {
    version,
    contentHash,
    appliedAtMs: u64(o.applied_at_ms ?? 0, 'ack.applied_at_ms'),
    refusedCode: code === '' ? null : code,
    refusedVersion: code === '' ? null : u64(o.refused_version ?? 0, 'ack.refused_version'),
  };
}

function u64(v: unknown, field: string): number {
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new ContractError(field, 'expected a whole number 0..2^53-1');
  }
  return n;
}
