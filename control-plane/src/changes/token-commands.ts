/** Operator tokens (admin only): create (the token is returned once, never stored or audited) and revoke. */
import { type Obj, reqEnum, reqId } from '@mercato/proto/v1/validate';
import { ROLES, type Role } from '../auth/roles.js';
import { generateToken, hashToken } from '../auth/tokens.js';
import { ControlError, ERR } from '../errors.js';
import { type ChangeCommand, reqReason } from './change-command.js';

export const MAX_TOKEN_NAME_LENGTH = 64;

export interface TokenCreateCommand {
  name: string;
  role: Role;
  reason: string;
}

export const tokenCreate: ChangeCommand<TokenCreateCommand> = {
  action: 'token.create',
  parse: (o: Obj) => ({
    name: reqId(o, 'name', '', MAX_TOKEN_NAME_LENGTH),
    role: reqEnum(o, 'role', '', ROLES),
    reason: reqReason(o),
  }),
  target: (c) => c.name,
  async apply(tx, c, ctx) {
    if ((await tx.tokens()).some((t) => t.name === c.name)) {
      throw new ControlError(
        ERR.CONFLICT,
        `a token named ${c.name} exists (names are never reused; pick another)`,
        'name',
      );
    }
    const token = generateToken();
    await tx.insertToken({
      name: c.name,
      tokenHash: hashToken(token),
      role: c.role,
      createdBy: ctx.principal.name,
      createdAtMs: ctx.nowMs,
      revokedAtMs: null,
    });
    return { detail: { name: c.name, role: c.role }, result: { name: c.name, role: c.role, token } };
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
    if (!(await tx.revokeToken(c.name, ctx.nowMs))) {
      const exists = (await tx.tokens()).some((t) => t.name === c.name);
      throw new ControlError(
        exists ? ERR.CONFLICT : ERR.NOT_FOUND,
        exists ? `token ${c.name} is already revoked` : `no token named ${c.name}`,
        'name',
      );
    }
    return { detail: { name: c.name } };
  },
};
