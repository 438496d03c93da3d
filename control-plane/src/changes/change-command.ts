/**
 * The shape every change command has: validate the JSON body into a typed
 * command (ContractError names the field), say what it targets, and apply
 * it to the write model inside the change transaction. The change service
 * does the rest (authorization, publishing the snapshot, the audit record).
 */
import type { KeyObject } from 'node:crypto';
import type { AtpError } from '@mercato/platform/errors';
import { type Obj, reqString } from '@mercato/proto/v1/validate';
import type { ChangeAction, Principal } from '../auth/roles.js';
import type { StoreTx } from '../store/control-store.js';

export const MAX_REASON_LENGTH = 1_024;

export interface ChangeContext {
  principal: Principal;
  nowMs: number;
  trustedKeys: readonly KeyObject[];
}

export interface Applied {
  /** What the audit record keeps (never secrets, never model bytes). */
  detail: Record<string, unknown>;
  /** Extra response fields for the caller only (e.g. a new token, shown once). */
  result?: Record<string, unknown>;
}

export interface ChangeCommand<C extends { reason: string }> {
  action: ChangeAction;
  parse(body: Obj): C;
  target(c: C): string;
  apply(tx: StoreTx, c: C, ctx: ChangeContext): Promise<Applied>;
  /**
   * Runs in its own transaction after `apply` refused (its transaction
   * rolled back): what must be recorded even though the change was not
   * made (a model whose stored bytes failed verification is marked).
   */
  afterRefusal?(tx: StoreTx, c: C, e: AtpError, ctx: ChangeContext): Promise<void>;
}

/** Every change says why: it is the audit log's "why". */
export function reqReason(o: Obj): string {
  return reqString(o, 'reason', '', MAX_REASON_LENGTH);
}

/** Best-effort target of a body that failed validation, for the audit record of the refusal. */
export function rawTarget(body: unknown): string {
  if (body === null || typeof body !== 'object') return '';
  const o = body as Obj;
  const parts: string[] = [];
  for (const k of ['scope', 'target', 'prefix', 'sku', 'region', 'node_id', 'version', 'name', 'id', 'arm']) {
    const v = o[k];
    if (typeof v === 'string' && v !== '') parts.push(`${k}=${v.slice(0, 128)}`);
  }
  return parts.join(' ');
}
