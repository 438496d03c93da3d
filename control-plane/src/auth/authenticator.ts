/**
 * Turns an Authorization header into a Principal, or refuses with
 * UNAUTHENTICATED (no/unknown/revoked token) or FORBIDDEN (the role does
 * not allow the action). Every edge (admin HTTP, watch gRPC) calls this.
 */

import { ControlError, ERR } from '../errors.js';
import type { ControlStore } from '../store/control-store.js';
import { ACTIONS, type Action, type Principal, roleAllows } from './roles.js';
import { bearerToken, hashToken } from './tokens.js';

export class Authenticator {
  constructor(private readonly store: ControlStore) {}

  /** Who holds this token; throws UNAUTHENTICATED. */
  async principal(authorization: string | undefined): Promise<Principal> {
    const token = bearerToken(authorization);
    if (token === null) {
      throw new ControlError(ERR.UNAUTHENTICATED, 'no bearer token (header "authorization: Bearer <token>")');
    }
    const row = await this.store.read((tx) => tx.tokenByHash(hashToken(token)));
    if (row === undefined) throw new ControlError(ERR.UNAUTHENTICATED, 'unknown token');
    if (row.revokedAtMs !== null)
      throw new ControlError(ERR.UNAUTHENTICATED, `token "${row.name}" was revoked`);
    return { name: row.name, role: row.role };
  }

  /** Throws FORBIDDEN unless the principal's role allows the action. */
  authorize(p: Principal, action: Action): void {
    const required = ACTIONS[action].role;
    if (!roleAllows(p.role, required)) {
      throw new ControlError(
        ERR.FORBIDDEN,
        `${action} needs the ${required} role; token "${p.name}" has ${p.role}`,
      );
    }
  }
}
