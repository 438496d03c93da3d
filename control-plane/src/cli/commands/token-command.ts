/** `atpctl token create|revoke|list` (admin): operator tokens, shown once at creation, stored as a hash. */
import { type Command, Option } from '@mercato/platform/flags';
import { ROLES } from '../../auth/roles.js';
import { DEFAULT_TOKEN_TTL_S } from '../../auth/tokens.js';
import { MAX_STREAMS_LIMIT, MAX_TOKEN_TTL_S, MIN_TOKEN_TTL_S } from '../../changes/token-commands.js';
import { durationFlagS } from '../../duration-flag.js';
import { type AtpctlIo, atpctlAction, type Obj, postChange } from '../atpctl-action.js';
import { intFlagWithin, reasonFlag } from '../atpctl-flags.js';
import { isoTime, table } from '../output.js';

interface TokenCreateFlags {
  role: string;
  reason?: string;
  ttl?: string;
  sidecarId?: string;
  maxStreams?: string;
}

export function tokenCommand(program: Command, io: AtpctlIo): void {
  const token = program.command('token').description('operator tokens (admin)');
  const create = token
    .command('create <name>')
    .description('create a token; it is printed once and stored only as a hash')
    .addOption(
      new Option('--role <role>', 'viewer | operator | admin').choices([...ROLES]).makeOptionMandatory(),
    )
    .option(
      '--ttl <duration>',
      `expires after this long: 90s, 30m, 12h, 30d, 1y (default ${DEFAULT_TOKEN_TTL_S / 86_400}d)`,
    )
    .option('--sidecar-id <id>', 'bind to this sidecar: the token may watch only as that id')
    .option('--max-streams <n>', "this token's cap on open watch streams (default: the server's, 4)")
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl token create alice --role operator --ttl 90d --reason "on-call rotation"\n  $ atpctl token create sidecar-eu-west-1 --role viewer --sidecar-id eu-west-1 --reason "watch stream"',
    );
  atpctlAction(create, io, async ({ client }, name: string, opts: TokenCreateFlags) => {
    const body: Obj = { name, role: opts.role, reason: reasonFlag(opts) };
    if (opts.ttl !== undefined)
      body.ttl_s = durationFlagS(opts.ttl, '--ttl', MIN_TOKEN_TTL_S, MAX_TOKEN_TTL_S);
    if (opts.sidecarId !== undefined) body.sidecar_id = opts.sidecarId;
    if (opts.maxStreams !== undefined)
      body.max_streams = intFlagWithin(opts.maxStreams, '--max-streams', 1, MAX_STREAMS_LIMIT, 1);
    const r = await client().post<Obj>('/v1/tokens/create', body);
    const expires =
      r.expires_at_ms === null || r.expires_at_ms === undefined
        ? ''
        : `, expires ${isoTime(r.expires_at_ms)}`;
    const bound = opts.sidecarId === undefined ? '' : `, sidecar ${opts.sidecarId}`;
    return {
      json: r,
      text: `token ${name} (${opts.role}${bound}${expires}) created; shown only now:\n${String(r.token)}`,
    };
  });
  const revoke = token
    .command('revoke <name>')
    .description('revoke a token at once')
    .option('--reason <text>', 'why (required)')
    .addHelpText('after', '\nExamples:\n  $ atpctl token revoke alice --reason "left the team"');
  atpctlAction(revoke, io, async ({ client }, name: string, opts: { reason?: string }) =>
    postChange(client(), '/v1/tokens/revoke', { name, reason: reasonFlag(opts) }),
  );
  const list = token
    .command('list')
    .description('token names, roles, revocations (never the tokens)')
    .addHelpText('after', '\nExamples:\n  $ atpctl token list');
  atpctlAction(list, io, async ({ client }) => {
    const r = await client().get<{ tokens: Obj[] }>('/v1/tokens');
    const rows = r.tokens.map((t) => [
      String(t.name),
      String(t.role),
      String(t.created_by),
      isoTime(t.created_at_ms),
      t.sidecar_id === null || t.sidecar_id === undefined ? '' : String(t.sidecar_id),
      t.expires_at_ms === null || t.expires_at_ms === undefined ? 'never' : isoTime(t.expires_at_ms),
      t.revoked_at_ms === null ? '' : `revoked ${isoTime(t.revoked_at_ms)}`,
    ]);
    return {
      json: r,
      text: table(rows, ['name', 'role', 'created by', 'created at', 'sidecar', 'expires', '']),
    };
  });
}
