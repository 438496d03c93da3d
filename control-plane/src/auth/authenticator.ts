/**
 * Turns an Authorization header into a Principal, or refuses with
 * UNAUTHENTICATED (no/unknown/revoked/expired token) or FORBIDDEN (the role
 * does not allow the action). Every edge (admin HTTP, watch gRPC) calls this.
 */

import { AtpError } from '@mercato/platform/errors';
import { ERR } from '../errors.js';
import type { ControlStore } from '../store/control-store.js';
import { ACTIONS, type Action, type Principal, roleAllows } from './roles.js';
import { bearerToken, hashToken } from './tokens.js';

export class Authenticator {
  constructor(
    private readonly store: ControlStore,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Who holds this token; throws UNAUTHENTICATED. */
  async principal(authorization: string | undefined): Promise<Principal> {
    const token = bearerToken(authorization);
    if (token === null) {
      throw new AtpError(ERR.UNAUTHENTICATED, 'no bearer token (header "authorization: Bearer <token>")');
    }
    const row = await this.store.read((tx) => tx.tokens.byHash(hashToken(token)));
    if (row === undefined) throw new AtpError(ERR.UNAUTHENTICATED, 'unknown token');
    if (row.revokedAtMs !== null) throw new AtpError(ERR.UNAUTHENTICATED, `token "${row.name}" was revoked`);
    if (row.expiresAtMs !== null && row.expiresAtMs <= this.clock()) {
      throw new AtpError(
        ERR.UNAUTHENTICATED,
        `token "${row.name}" expired at ${new Date(row.expiresAtMs).toISOString()}`,
      );
    }
    return {
      name: row.name,
      role: row.role,
      sidecarId: row.sidecarId,
      expiresAtMs: row.expiresAtMs,
      maxStreams: row.maxStreams,
    };
  }

  /** Throws FORBIDDEN unless the principal's role allows the action. */
  authorize(p: Principal, action: Action): void {
    const required = ACTIONS[action].role;
    if (!roleAllows(p.role, required)) {
      throw new AtpError(
        ERR.FORBIDDEN,
        `${action} needs the ${required} role; token "${p.name}" has ${p.role}`,
      );
    }
  }
}
