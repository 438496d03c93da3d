/** `atpctl status`: what is in force, in a few lines (or the API's JSON). */
import type { Command } from '@mercato/platform/flags';
import { type AtpctlIo, atpctlAction, type Obj } from '../atpctl-action.js';
import { isoTime, shortHash } from '../output.js';

/** A watcher whose token expires sooner than this is flagged: rotate it before its sidecar loses the stream. */
export const TOKEN_EXPIRY_WARNING_MS = 14 * 86_400_000;

export function statusCommand(program: Command, io: AtpctlIo): void {
  const cmd = program
    .command('status')
    .description(
      'what is in force: snapshot version, kill switches, routes, model rollout, connected sidecars',
    )
    .addHelpText('after', '\nExamples:\n  $ atpctl status\n  $ atpctl --json status | jq .kill_switches');
  atpctlAction(cmd, io, async ({ client }) => {
    const c = client();
    const s = await c.get<Obj>('/v1/status');
    return { json: s, text: statusText(s, c.baseUrl) };
  });
}

export function statusText(s: Obj, server: string, nowMs: number = Date.now()): string {
  const model = s.model as {
    active: string;
    previous?: string;
    staged?: { version: string; rollout_pct_by_region: Record<string, number> };
  };
  const kills = s.kill_switches as { scope: string; target: string; reason: string }[];
  const routes = s.routes as { prefix: string; mode: string; rollout_pct: number }[];
  const watchers = s.watchers as {
    sidecar_id: string;
    claimed_sidecar_id: string;
    region: string;
    sent_version: number;
    version: number | null;
    content_hash: string | null;
    behind: number | null;
    applied: string;
    refused_code: string | null;
    token_expires_at_ms?: number | null;
  }[];
  const staged =
    model.staged === undefined
      ? 'none'
      : `${model.staged.version} (${Object.entries(model.staged.rollout_pct_by_region)
          .map(([r, p]) => `${r} ${p}%`)
          .join(', ')})`;
  const kill = (k: (typeof kills)[number]) =>
    `${k.scope === 'global' ? 'GLOBAL' : `${k.scope}:${k.target}`} (${k.reason})`;
  // What the sidecar says it serves (its ack), never just what was sent to it.
  const watcher = (w: (typeof watchers)[number]) => {
    const claimed =
      w.claimed_sidecar_id !== w.sidecar_id && w.claimed_sidecar_id !== 'unknown'
        ? ` "${w.claimed_sidecar_id}"`
        : '';
    const applied =
      w.version === null
        ? `sent v${w.sent_version}, applied unknown (no ack)`
        : w.applied === 'diverged'
          ? `DIVERGED: serves v${w.version} ${shortHash(w.content_hash)}, not what this control plane published`
          : `applied v${w.version}${w.behind !== null && w.behind > 0 ? ` (${w.behind} behind)` : ''}`;
    const refused = w.refused_code === null ? '' : ` refused ${w.refused_code}`;
    const exp = w.token_expires_at_ms ?? null;
    const expiring =
      exp !== null && exp - nowMs < TOKEN_EXPIRY_WARNING_MS ? ` TOKEN EXPIRES ${isoTime(exp)}` : '';
    return `${w.sidecar_id}${claimed}@${w.region} ${applied}${refused}${expiring}`;
  };
  return [
    `control plane  ${server}  (store ${s.store})`,
    `snapshot       v${s.version}  ${shortHash(s.content_hash)}  published ${isoTime(s.published_at_ms)}`,
    `rules          ${s.rules_version}  holds ${s.holds}  seller constraints ${s.sellers}`,
    `kill switches  ${kills.length === 0 ? 'none' : kills.map(kill).join('; ')}`,
    `routes         ${routes.length === 0 ? 'none' : routes.map((r) => `${r.prefix} ${r.mode} ${r.rollout_pct}%`).join('; ')}`,
    `model          active ${model.active}  previous ${model.previous ?? '-'}  staged ${staged}`,
    `watchers       ${watchers.length}${watchers.length === 0 ? '' : `: ${watchers.map(watcher).join(', ')}`}`,
    `trust          snapshots signed by ${s.signing_key_id}; transport ${s.transport}`,
    ...integrity(s),
  ].join('\n');
}

function integrity(s: Obj): string[] {
  const failed = (s.model_integrity_failures ?? []) as { version: string }[];
  if (failed.length === 0) return [];
  return [
    `MODEL INTEGRITY failed (altered in the store, never served): ${failed.map((f) => f.version).join(', ')}`,
  ];
}
