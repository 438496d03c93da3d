/**
 * Roles and the one table of what each action needs. Roles are ordered:
 * an operator may do everything a viewer may, an admin everything an
 * operator may. The README's role table is this table.
 *
 * - viewer: reads (status, snapshot, audit, models), and the watch stream
 *   and bundle downloads sidecars use.
 * - operator: the levers of running ATP: kill switches, route mode and
 *   rollout, rules (holds, sellers), staging / promoting an already pushed
 *   model and rolling back.
 * - admin: what adds trust or people: pushing model bytes, tokens, the
 *   region registry (where data lives and where it may flow).
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAllows(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

export const ACTIONS = {
  'status.read': { role: 'viewer', changes: false },
  'snapshot.read': { role: 'viewer', changes: false },
  'audit.read': { role: 'viewer', changes: false },
  'audit.export': { role: 'operator', changes: false },
  'model.list': { role: 'viewer', changes: false },
  'region.list': { role: 'viewer', changes: false },
  'model.download': { role: 'viewer', changes: false },
  watch: { role: 'viewer', changes: false },
  'killswitch.set': { role: 'operator', changes: true },
  'killswitch.clear': { role: 'operator', changes: true },
  'route.mode': { role: 'operator', changes: true },
  'route.rollout': { role: 'operator', changes: true },
  'hold.add': { role: 'operator', changes: true },
  'hold.remove': { role: 'operator', changes: true },
  'seller.set': { role: 'operator', changes: true },
  'seller.remove': { role: 'operator', changes: true },
  'model.promote': { role: 'operator', changes: true },
  'model.rollback': { role: 'operator', changes: true },
  'experiment.list': { role: 'viewer', changes: false },
  'experiment.create': { role: 'operator', changes: true },
  'experiment.start': { role: 'operator', changes: true },
  'experiment.stop': { role: 'operator', changes: true },
  'experiment.arm-stop': { role: 'operator', changes: true },
  'model.push': { role: 'admin', changes: true },
  'region.put': { role: 'admin', changes: true },
  'region.remove': { role: 'admin', changes: true },
  'token.list': { role: 'admin', changes: false },
  'token.create': { role: 'admin', changes: true },
  'token.revoke': { role: 'admin', changes: true },
} as const satisfies Record<string, { role: Role; changes: boolean }>;

export type Action = keyof typeof ACTIONS;
export type ChangeAction = { [A in Action]: (typeof ACTIONS)[A]['changes'] extends true ? A : never }[Action];

/** Who is asking: the token's name and role, and what its token allows beyond the role. */
export interface Principal {
  name: string;
  role: Role;
  /** The sidecar id this token is bound to (the only one it may watch as); null: unbound. */
  sidecarId?: string | null;
  /** When the token stops working; null: never. */
  expiresAtMs?: number | null;
  /** This token's own cap on open watch streams; null: the server default. */
  maxStreams?: number | null;
}

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}
