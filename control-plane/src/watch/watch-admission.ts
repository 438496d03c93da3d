/**
 * Who may open a watch stream, and as whom (finding 3: 500 streams on one
 * viewer token were accepted and listed under ids the client chose).
 *
 * - The role must allow `watch` (viewer and above).
 * - Identity is the server's, not the client's: a token bound to a sidecar
 *   id (token create --sidecar-id) watches only as that id (another id is
 *   FORBIDDEN); an unbound token watches under its own name. The id the
 *   client sent is kept apart as `claimedId`, for people to read, never as
 *   an identity.
 * - A token holds at most its cap of open streams on this replica
 *   (its own `max_streams`, else the server's maxStreamsPerToken):
 *   TOO_MANY_STREAMS past it.
 */
import { AtpError } from '@mercato/platform/errors';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/roles.js';
import { ERR } from '../errors.js';
import type { WatchRequestMsg } from './watch-proto.js';

const WATCH_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const UNKNOWN_ID = 'unknown';

export interface AdmittedWatcher {
  /** Server-known identity: the token's bound sidecar id, else the token's name. */
  sidecarId: string;
  /** What the client said it is (validated, never trusted as an identity). */
  claimedId: string;
  region: string;
  /** Token name. */
  principal: string;
  /** True when the identity comes from a token bound to it. */
  bound: boolean;
}

export interface AdmissionInput {
  principal: Principal;
  req: WatchRequestMsg;
  /** Streams open now on this replica (their token names). */
  open: readonly { principal: string }[];
  maxStreamsPerToken: number;
  authenticator: Authenticator;
}

export function admitWatcher(a: AdmissionInput): AdmittedWatcher {
  const p = a.principal;
  a.authenticator.authorize(p, 'watch');
  const claimedId = idField(a.req.sidecar_id, 'sidecar_id');
  const region = idField(a.req.region, 'region');
  const bound = p.sidecarId ?? null;
  if (bound !== null && claimedId !== UNKNOWN_ID && claimedId !== bound) {
    throw new AtpError(
      ERR.FORBIDDEN,
      `token "${p.name}" belongs to sidecar ${bound}; it cannot watch as ${claimedId}`,
      'sidecar_id',
    );
  }
  const cap = p.maxStreams ?? a.maxStreamsPerToken;
  const open = a.open.filter((s) => s.principal === p.name).length;
  if (open >= cap) {
    throw new AtpError(
      ERR.TOO_MANY_STREAMS,
      `token "${p.name}" already holds ${open} open watch stream(s), its cap is ${cap}`,
    );
  }
  return { sidecarId: bound ?? p.name, claimedId, region, principal: p.name, bound: bound !== null };
}

function idField(v: unknown, field: string): string {
  if (v === undefined || v === null || v === '') return UNKNOWN_ID;
  if (typeof v !== 'string' || !WATCH_ID_RE.test(v)) {
    throw new AtpError(
      ERR.INVALID_ARGUMENT,
      `${field}: expected letters, digits and . _ : - (not first), at most 128`,
      field,
    );
  }
  return v;
}
