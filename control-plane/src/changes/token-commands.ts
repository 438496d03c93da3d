/**
 * Operator tokens (admin only): create (the token is returned once, never
 * stored or audited) and revoke. Every token expires: after `ttl_s`, else
 * after DEFAULT_TOKEN_TTL_S (a leaked token is not good forever; rotate
 * sidecar tokens before they expire, `atpctl token list` shows when). A
 * token may be bound to
 * one sidecar id (`sidecar_id`: a sidecar's token watches only as itself)
 * and carry its own watch stream cap (`max_streams`). Revoking ends the
 * token's open watch streams at once (the control plane closes them).
 */

import { AtpError } from '@mercato/platform/errors';
import { type Obj, reqEnum, reqId, reqInt } from '@mercato/proto/v1/validate';
import { ROLES, type Role } from '../auth/roles.js';
import { DEFAULT_TOKEN_TTL_S, generateToken, hashToken } from '../auth/tokens.js';
import { ERR } from '../errors.js';
import { type ChangeCommand, reqReason } from './change-command.js';

export const MAX_TOKEN_NAME_LENGTH = 64;
export const MIN_TOKEN_TTL_S = 60;
/** Ten years: the longest a token may live. */
export const MAX_TOKEN_TTL_S = 10 * 365 * 24 * 3600;
export const MAX_SIDECAR_ID_LENGTH = 128;
export const MAX_STREAMS_LIMIT = 100_000;

export interface TokenCreateCommand {
  name: string;
  role: Role;
  ttlS: number;
  sidecarId: string | null;
  maxStreams: number | null;
  reason: string;
}

export const tokenCreate: ChangeCommand<TokenCreateCommand> = {
  action: 'token.create',
  parse: (o: Obj) => ({
    name: reqId(o, 'name', '', MAX_TOKEN_NAME_LENGTH),
    role: reqEnum(o, 'role', '', ROLES),
    ttlS:
      o.ttl_s === undefined || o.ttl_s === null
        ? DEFAULT_TOKEN_TTL_S
        : reqInt(o, 'ttl_s', '', MIN_TOKEN_TTL_S, MAX_TOKEN_TTL_S),
    sidecarId:
      o.sidecar_id === undefined || o.sidecar_id === null
        ? null
        : reqId(o, 'sidecar_id', '', MAX_SIDECAR_ID_LENGTH),
    maxStreams:
      o.max_streams === undefined || o.max_streams === null
        ? null
        : reqInt(o, 'max_streams', '', 1, MAX_STREAMS_LIMIT),
    reason: reqReason(o),
  }),
  target: (c) => c.name,
  async apply(tx, c, ctx) {
    if ((await tx.tokens.list()).some((t) => t.name === c.name)) {
      throw new AtpError(
        ERR.CONFLICT,
        `a token named ${c.name} exists (names are never reused; pick another)`,
        'name',
      );
    }
    const token = generateToken();
    const expiresAtMs = ctx.nowMs + c.ttlS * 1000;
    await tx.tokens.insert({
      name: c.name,
      tokenHash: hashToken(token),
      role: c.role,
      createdBy: ctx.principal.name,
      createdAtMs: ctx.nowMs,
      revokedAtMs: null,
      expiresAtMs,
      sidecarId: c.sidecarId,
      maxStreams: c.maxStreams,
    });
    const shape = {
      name: c.name,
      role: c.role,
      expires_at_ms: expiresAtMs,
      sidecar_id: c.sidecarId,
      max_streams: c.maxStreams,
    };
    return { detail: shape, result: { ...shape, token } };
  },
};

export interface TokenRevokeCommand {
  name: string;
  reason: string;
}

export const tokenRevoke: ChangeCommand<TokenRevokeCommand> = {
  action: 'token.revoke',
  parse: (o: Obj) => ({ name: reqId(o, 'name', '', MAX_TOKEN_NAME_LENGTH), reason: reqReason(o) }),
  target: (c) => c.name,
  async apply(tx, c, ctx) {
    if (!(await tx.tokens.revoke(c.name, ctx.nowMs))) {
      const exists = (await tx.tokens.list()).some((t) => t.name === c.name);
      throw new AtpError(
        exists ? ERR.CONFLICT : ERR.NOT_FOUND,
        exists ? `token ${c.name} is already revoked` : `no token named ${c.name}`,
        'name',
      );
    }
    return { detail: { name: c.name } };
  },
};
