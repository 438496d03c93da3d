/**
 * `atpctl audit`: who changed what, when and why; refused attempts
 * included, newest first. `atpctl audit export --since ...` streams the
 * log as NDJSON (oldest first) to stdout, for keeping beyond the control
 * plane's retention.
 */
import { type Command, Option } from '@mercato/platform/flags';
import { sinceFlagMs } from '../../duration-flag.js';
import { type AtpctlIo, atpctlAction, type Obj } from '../atpctl-action.js';
import { intArg, intFlagWithin } from '../atpctl-flags.js';
import { isoTime, table } from '../output.js';

export const DEFAULT_AUDIT_ENTRIES = 20;
export const MAX_AUDIT_ENTRIES = 1_000;

interface AuditFlags {
  limit?: string;
  actor?: string;
  action?: string;
  outcome?: string;
  beforeId?: string;
}

export function auditCommand(program: Command, io: AtpctlIo): void {
  const cmd = program
    .command('audit')
    .description('who changed what, when and why; refused attempts included (newest first)')
    .option('--limit <n>', `entries to show (1..${MAX_AUDIT_ENTRIES}, default ${DEFAULT_AUDIT_ENTRIES})`)
    .option('--actor <name>', 'only this token name (anonymous = no valid token)')
    .option('--action <action>', 'only this action, e.g. killswitch.set')
    .addOption(new Option('--outcome <outcome>', 'only accepted or refused').choices(['accepted', 'refused']))
    .option('--before-id <id>', 'page: entries older than this id')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl audit --limit 50\n  $ atpctl audit --outcome refused\n  $ atpctl audit --action model.rollback --json\n  $ atpctl audit export --since 2025-01-01 > audit.ndjson',
    );
  exportCommand(cmd, io);
  atpctlAction(cmd, io, async ({ client }, opts: AuditFlags) => {
    const limit = intFlagWithin(opts.limit, '--limit', 1, MAX_AUDIT_ENTRIES, DEFAULT_AUDIT_ENTRIES);
    const q = new URLSearchParams({ limit: String(limit) });
    if (opts.actor !== undefined) q.set('actor', opts.actor);
    if (opts.action !== undefined) q.set('action', opts.action);
    if (opts.outcome !== undefined) q.set('outcome', opts.outcome);
    if (opts.beforeId !== undefined)
      q.set('before_id', String(intArg(opts.beforeId, '--before-id', 1, Number.MAX_SAFE_INTEGER)));
    const r = await client().get<{ entries: Obj[] }>(`/v1/audit?${q}`);
    const rows = r.entries.map((e) => [
      String(e.id),
      isoTime(e.at_ms),
      String(e.actor),
      String(e.action),
      String(e.target),
      e.outcome === 'accepted'
        ? `accepted${e.snapshot_version === null ? '' : ` v${e.snapshot_version}`}`
        : `REFUSED ${e.code}`,
      String(e.reason ?? e.message ?? ''),
    ]);
    return {
      json: r,
      text:
        rows.length === 0
          ? 'no audit entries'
          : table(rows, ['id', 'at', 'actor', 'action', 'target', 'outcome', 'why']),
    };
  });
}

function exportCommand(audit: Command, io: AtpctlIo): void {
  const cmd = audit
    .command('export')
    .description('the audit log as NDJSON on stdout, oldest first (operator): keep it beyond the retention')
    .requiredOption('--since <when>', 'from: ISO date or date-time, epoch ms, or back from now (24h, 7d)')
    .option('--until <when>', 'up to (exclusive), same forms; default: now')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl audit export --since 2025-01-01 > audit-2025.ndjson\n  $ atpctl audit export --since 24h --until 1h | jq -c .',
    );
  atpctlAction(cmd, io, async ({ client }, opts: { since: string; until?: string }) => {
    const now = Date.now();
    const q = new URLSearchParams({ since: String(sinceFlagMs(opts.since, '--since', now)) });
    if (opts.until !== undefined) q.set('until', String(sinceFlagMs(opts.until, '--until', now)));
    await client().stream(`/v1/audit/export?${q}`, io.stdout);
    return { streamed: true };
  });
}
