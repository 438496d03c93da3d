/**
 * atpctl: the operator CLI of the ATP control plane.
 *
 *   npm run atpctl -- status
 *   npm run atpctl -- killswitch set --scope region:eu-west --reason "incident 4711"
 *
 * Server and token: --server / ATP_CONTROL_URL (default
 * http://127.0.0.1:7070), --token / ATP_CONTROL_TOKEN or --token-file /
 * ATP_CONTROL_TOKEN_FILE. Every command takes --json (machine output on
 * stdout; errors as the API's JSON error body on stderr). Exit codes:
 * 0 done, 1 refused by the control plane, 2 bad usage or local input,
 * 3 control plane unreachable or failing (retry).
 *
 * `runAtpctl(argv, io)` runs in process (tests, e2e timing); the file is
 * also the executable.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { KILL_SCOPES } from '@mercato/proto/v1/control-snapshot';
import { MODES } from '@mercato/proto/v1/decision';
import { Command, CommanderError, Option } from 'commander';
import { ROLES } from '../auth/roles.js';
import { ControlError, ERR } from '../errors.js';
import { AdminClient, DEFAULT_SERVER_URL } from './admin-client.js';
import { generateKeyFiles, readLocalBundle, signBundle } from './bundle-files.js';
import { changeLine, isoTime, shortHash, table } from './output.js';
import { DEFAULT_SAMPLES, shadowReport, shadowReportToJson } from './shadow-report.js';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNAVAILABLE = 3;

export interface AtpctlIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

interface Globals {
  server?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
  timeoutMs?: string;
}

interface Result {
  json: unknown;
  text: string;
}

type Obj = Record<string, unknown>;

const usage = (message: string, field?: string, hint?: string) =>
  new ControlError({ ...ERR.CONFIG_INVALID, hint: hint ?? 'see atpctl <command> --help' }, message, field);

/** --scope global | region:<r> | route:</prefix> | sku:<s>. */
export function parseScope(raw: string): { scope: string; target?: string } {
  if (raw === 'global') return { scope: 'global' };
  const i = raw.indexOf(':');
  const scope = i < 0 ? raw : raw.slice(0, i);
  const target = i < 0 ? '' : raw.slice(i + 1);
  if (!(KILL_SCOPES as readonly string[]).includes(scope) || scope === 'global' || target === '') {
    throw usage(
      `--scope: expected global, region:<region>, route:</prefix> or sku:<sku>, got "${raw}"`,
      'scope',
    );
  }
  return { scope, target };
}

function reason(opts: { reason?: string }): string {
  if (opts.reason === undefined || opts.reason.trim() === '') {
    throw usage(
      '--reason is required: say why (it is recorded in the audit log)',
      'reason',
      'add --reason "<ticket or why>"',
    );
  }
  return opts.reason;
}

function intArg(raw: string, name: string, min: number, max: number): number {
  const v = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isInteger(v) || v < min || v > max) {
    throw usage(`${name}: expected an integer ${min}..${max}, got "${raw}"`, name);
  }
  return v;
}

function resolveToken(g: Globals, env: AtpctlIo['env']): string | null {
  if (g.token !== undefined && g.token !== '') return g.token;
  const file = g.tokenFile ?? env.ATP_CONTROL_TOKEN_FILE;
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw usage(
        `--token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        'token-file',
      );
    }
  }
  const t = env.ATP_CONTROL_TOKEN;
  return t === undefined || t === '' ? null : t;
}

function statusText(s: Obj, server: string): string {
  const model = s.model as {
    active: string;
    previous?: string;
    staged?: { version: string; rollout_pct_by_region: Record<string, number> };
  };
  const kills = s.kill_switches as { scope: string; target: string; reason: string }[];
  const routes = s.routes as { prefix: string; mode: string; rollout_pct: number }[];
  const watchers = s.watchers as { sidecar_id: string; region: string; version: number; behind: number }[];
  const staged =
    model.staged === undefined
      ? 'none'
      : `${model.staged.version} (${Object.entries(model.staged.rollout_pct_by_region)
          .map(([r, p]) => `${r} ${p}%`)
          .join(', ')})`;
  return [
    `control plane  ${server}  (store ${s.store})`,
    `snapshot       v${s.version}  ${shortHash(s.content_hash)}  published ${isoTime(s.published_at_ms)}`,
    `rules          ${s.rules_version}  holds ${s.holds}  seller constraints ${s.sellers}`,
    `kill switches  ${kills.length === 0 ? 'none' : kills.map((k) => `${k.scope === 'global' ? 'GLOBAL' : `${k.scope}:${k.target}`} (${k.reason})`).join('; ')}`,
    `routes         ${routes.length === 0 ? 'none' : routes.map((r) => `${r.prefix} ${r.mode} ${r.rollout_pct}%`).join('; ')}`,
    `model          active ${model.active}  previous ${model.previous ?? '-'}  staged ${staged}`,
    `watchers       ${watchers.length}${watchers.length === 0 ? '' : `: ${watchers.map((w) => `${w.sidecar_id}@${w.region} v${w.version}${w.behind > 0 ? ` (${w.behind} behind)` : ''}`).join(', ')}`}`,
  ].join('\n');
}

export function buildProgram(io: AtpctlIo, exit: { code: number }): Command {
  const program = new Command('atpctl')
    .description(
      'Operate the ATP control plane: kill switches, modes, rollout, models, rules, audit, shadow reports.',
    )
    .exitOverride()
    .showHelpAfterError('(add --help for usage and examples)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .option('--server <url>', 'control plane admin URL (env ATP_CONTROL_URL)')
    .option('--token <token>', 'bearer token (env ATP_CONTROL_TOKEN)')
    .option('--token-file <path>', 'file holding the bearer token (env ATP_CONTROL_TOKEN_FILE)')
    .option('--json', 'print JSON (the API response) instead of text')
    .option('--timeout-ms <ms>', 'give up on the control plane after this long', '30000')
    .addHelpText(
      'after',
      `
Examples:
  $ export ATP_CONTROL_URL=http://127.0.0.1:7070 ATP_CONTROL_TOKEN=atp_...
  $ atpctl status
  $ atpctl killswitch set --scope region:eu-west --reason "INC-4711 oversell spike"
  $ atpctl mode set /checkout shadow --reason "new model in shadow"
  $ atpctl model rollback --reason "INC-4712 p_fulfill drift"
  $ atpctl --json audit --limit 20

Exit codes: 0 done, 1 refused by the control plane, 2 bad usage, 3 unreachable (retry).`,
    );

  const run =
    <A extends unknown[]>(
      fn: (ctx: { client: () => AdminClient; globals: Globals }, ...args: A) => Promise<Result>,
    ) =>
    async (...args: A) => {
      const cmd = args[args.length - 1] as Command;
      const g = cmd.optsWithGlobals<Globals>();
      try {
        const server = g.server ?? io.env.ATP_CONTROL_URL ?? DEFAULT_SERVER_URL;
        const client = () =>
          new AdminClient({
            baseUrl: server,
            token: resolveToken(g, io.env),
            timeoutMs: intArg(g.timeoutMs ?? '30000', '--timeout-ms', 1, 3_600_000),
          });
        const r = await fn({ client, globals: g }, ...args);
        io.stdout(`${g.json ? JSON.stringify(r.json, null, 2) : r.text}\n`);
        exit.code = EXIT_OK;
      } catch (err) {
        const e = err instanceof ControlError ? err : new ControlError(ERR.INTERNAL, (err as Error).message);
        if (g.json) {
          io.stderr(
            `${JSON.stringify({ error: { code: e.code, retriable: e.spec.retriable, message: e.message, hint: e.spec.hint, ...(e.field === undefined ? {} : { field: e.field }) } })}\n`,
          );
        } else {
          io.stderr(
            `atpctl: ${e.code}: ${e.message}\n${e.field === undefined ? '' : `  field: ${e.field}\n`}  what to do: ${e.spec.hint}\n`,
          );
        }
        exit.code =
          e.code === ERR.CONFIG_INVALID.code
            ? EXIT_USAGE
            : e.spec.retriable || e.code === ERR.UNAVAILABLE.code
              ? EXIT_UNAVAILABLE
              : EXIT_REFUSED;
      }
    };

  const change = (path: string, body: Obj) => async (client: AdminClient) => {
    const r = await client.post<Obj>(path, body);
    return { json: r, text: changeLine(r) };
  };

  // --- status / snapshot / audit --------------------------------------------
  program
    .command('status')
    .description(
      'what is in force: snapshot version, kill switches, routes, model rollout, connected sidecars',
    )
    .addHelpText('after', '\nExamples:\n  $ atpctl status\n  $ atpctl --json status | jq .kill_switches')
    .action(
      run(async ({ client }) => {
        const c = client();
        const s = await c.get<Obj>('/v1/status');
        return { json: s, text: statusText(s, c.baseUrl) };
      }),
    );

  program
    .command('snapshot')
    .description('print the control snapshot sidecars receive (JSON)')
    .option('--version <n>', 'a past version instead of the latest')
    .addHelpText('after', '\nExamples:\n  $ atpctl snapshot\n  $ atpctl snapshot --version 12')
    .action(
      run(async ({ client }, opts: { version?: string }) => {
        const q =
          opts.version === undefined
            ? ''
            : `?version=${intArg(opts.version, '--version', 1, Number.MAX_SAFE_INTEGER)}`;
        const s = await client().get('/v1/snapshot' + q);
        return { json: s, text: JSON.stringify(s, null, 2) };
      }),
    );

  program
    .command('audit')
    .description('who changed what, when and why; refused attempts included (newest first)')
    .option('--limit <n>', 'entries to show (1..1000)', '20')
    .option('--actor <name>', 'only this token name (anonymous = no valid token)')
    .option('--action <action>', 'only this action, e.g. killswitch.set')
    .addOption(new Option('--outcome <outcome>', 'only accepted or refused').choices(['accepted', 'refused']))
    .option('--before-id <id>', 'page: entries older than this id')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl audit --limit 50\n  $ atpctl audit --outcome refused\n  $ atpctl audit --action model.rollback --json',
    )
    .action(
      run(
        async (
          { client },
          opts: { limit: string; actor?: string; action?: string; outcome?: string; beforeId?: string },
        ) => {
          const q = new URLSearchParams({ limit: String(intArg(opts.limit, '--limit', 1, 1000)) });
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
        },
      ),
    );

  // --- kill switches --------------------------------------------------------
  const ks = program
    .command('killswitch')
    .description('turn ATP off (pass-through) for a scope: global, region, route or sku');
  for (const verb of ['set', 'clear'] as const) {
    ks.command(verb)
      .description(
        verb === 'set'
          ? 'set a kill switch: the filter lets requests through untouched in that scope'
          : 'clear a kill switch',
      )
      .requiredOption('--scope <scope>', 'global | region:<region> | route:</prefix> | sku:<sku>')
      .option('--reason <text>', 'why (required; goes to the audit log)')
      .addHelpText(
        'after',
        `\nExamples:\n  $ atpctl killswitch ${verb} --scope region:eu-west --reason "INC-4711"\n  $ atpctl killswitch ${verb} --scope route:/checkout/gift --reason "gift cards misbehave"\n  $ atpctl killswitch ${verb} --scope global --reason "ATP outage"`,
      )
      .action(
        run(async ({ client }, opts: { scope: string; reason?: string }) =>
          change(`/v1/kill-switches/${verb}`, { ...parseScope(opts.scope), reason: reason(opts) })(client()),
        ),
      );
  }

  // --- mode / rollout -------------------------------------------------------
  program
    .command('mode')
    .description('mode of a route')
    .command('set <route> <mode>')
    .description(`set a route's mode: ${MODES.join(' | ')} (shadow computes and logs, enforces nothing)`)
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl mode set /checkout shadow --reason "evaluate gbdt-v3"\n  $ atpctl mode set /checkout enforce --reason "shadow report clean"',
    )
    .action(
      run(async ({ client }, route: string, mode: string, opts: { reason?: string }) => {
        if (!(MODES as readonly string[]).includes(mode))
          throw usage(`<mode>: expected ${MODES.join(' | ')}, got "${mode}"`, 'mode');
        return change('/v1/routes/mode', { prefix: route, mode, reason: reason(opts) })(client());
      }),
    );

  program
    .command('rollout')
    .description('rollout percentage of a route')
    .command('set <route> <pct>')
    .description(
      "share of requests (0..100, stable per request id) that get the route's mode; the rest are off",
    )
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl rollout set /checkout 10 --reason "canary"\n  $ atpctl rollout set /checkout 100 --reason "full rollout"',
    )
    .action(
      run(async ({ client }, route: string, pct: string, opts: { reason?: string }) =>
        change('/v1/routes/rollout', {
          prefix: route,
          rollout_pct: intArg(pct, '<pct>', 0, 100),
          reason: reason(opts),
        })(client()),
      ),
    );

  // --- models ---------------------------------------------------------------
  const model = program
    .command('model')
    .description('model bundles: push, promote (staged per region), rollback, sign');
  model
    .command('push <bundle-dir>')
    .description(
      'upload a signed bundle (admin); the control plane verifies sha256 and signature, nothing is served until promoted',
    )
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl model sign --key ~/.atp/bundle-signing.key.pem models/gbdt-v3\n  $ atpctl model push models/gbdt-v3 --reason "weekly retrain"',
    )
    .action(
      run(async ({ client }, dir: string, opts: { reason?: string }) => {
        const why = reason(opts);
        const b = readLocalBundle(dir);
        if (b.signature === null) {
          throw new ControlError(ERR.MODEL_UNSIGNED, `${dir} has no manifest.sig`, 'signature');
        }
        const r = await client().post<Obj>('/v1/models/push', {
          manifest_b64: b.manifest.toString('base64'),
          signature_b64: b.signature.toString('utf8').trim(),
          model_b64: b.model.toString('base64'),
          reason: why,
        });
        return {
          json: r,
          text: `model ${b.version} pushed (signed by ${String(r.key_id ?? 'a trusted key')}); promote it with: atpctl model promote ${b.version} --reason ...`,
        };
      }),
    );
  model
    .command('promote <version>')
    .description('make a pushed model active everywhere, or stage it in one region at a percentage')
    .option('--region <region>', 'stage in this region only (with --pct)')
    .option('--pct <pct>', 'share of requests in --region (0..100; 0 removes the region)')
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl model promote gbdt-v3 --region eu-west --pct 10 --reason "canary"\n  $ atpctl model promote gbdt-v3 --region eu-west --pct 100 --reason "eu-west all in"\n  $ atpctl model promote gbdt-v3 --reason "everywhere"',
    )
    .action(
      run(async ({ client }, version: string, opts: { region?: string; pct?: string; reason?: string }) => {
        if ((opts.region === undefined) !== (opts.pct === undefined)) {
          throw usage(
            '--region and --pct go together (stage in one region); omit both to promote everywhere',
            opts.region === undefined ? 'region' : 'pct',
          );
        }
        const body: Obj = { version, reason: reason(opts) };
        if (opts.region !== undefined) {
          body.region = opts.region;
          body.pct = intArg(opts.pct!, '--pct', 0, 100);
        }
        return change('/v1/models/promote', body)(client());
      }),
    );
  model
    .command('rollback')
    .description('one command back: drops a staged rollout, else makes the previous model active again')
    .option('--reason <text>', 'why (required)')
    .addHelpText('after', '\nExamples:\n  $ atpctl model rollback --reason "INC-4712 oversell on gbdt-v3"')
    .action(
      run(async ({ client }, opts: { reason?: string }) =>
        change('/v1/models/rollback', { reason: reason(opts) })(client()),
      ),
    );
  model
    .command('list')
    .description('pushed models and the promotion history')
    .addHelpText('after', '\nExamples:\n  $ atpctl model list')
    .action(
      run(async ({ client }) => {
        const r = await client().get<{ models: Obj[] }>('/v1/models');
        const rows = r.models.map((m) => [
          String(m.version),
          String(m.state),
          String(m.model_sha256).slice(0, 12),
          String(m.key_id),
          String(m.pushed_by),
          isoTime(m.pushed_at_ms),
        ]);
        return {
          json: r,
          text:
            rows.length === 0
              ? 'no models pushed'
              : table(rows, ['version', 'state', 'sha256', 'signed by', 'pushed by', 'pushed at']),
        };
      }),
    );
  model
    .command('sign <bundle-dir>')
    .description('write manifest.sig: ed25519 over the exact bytes of manifest.json (local, no server)')
    .requiredOption('--key <private.pem>', 'ed25519 private key (PKCS#8 PEM)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl model sign --key ~/.atp/bundle-signing.key.pem models/gbdt-v3',
    )
    .action(
      run(async (_ctx, dir: string, opts: { key: string }) => {
        const r = signBundle(dir, opts.key);
        return {
          json: { signature: r.signaturePath, key_id: r.keyId },
          text: `signed ${dir} with ${r.keyId} -> ${r.signaturePath}`,
        };
      }),
    );
  model
    .command('keygen')
    .description(
      'generate an ed25519 signing key pair (local); give the public half to control planes and sidecars (--trusted-key)',
    )
    .requiredOption('--out <dir>', 'folder for bundle-signing.key.pem (0600) and bundle-signing.pub.pem')
    .addHelpText('after', '\nExamples:\n  $ atpctl model keygen --out ~/.atp')
    .action(
      run(async (_ctx, opts: { out: string }) => {
        const r = generateKeyFiles(opts.out);
        return {
          json: { key_id: r.keyId, private_key: r.privatePath, public_key: r.publicPath },
          text: `key ${r.keyId}\n  private ${r.privatePath} (keep it secret; never commit it)\n  public  ${r.publicPath}`,
        };
      }),
    );

  // --- rules ----------------------------------------------------------------
  const rules = program.command('rules').description('compliance holds and seller constraints');
  const hold = rules
    .command('hold')
    .description('compliance holds: stop promising a SKU (one region or everywhere)');
  for (const verb of ['add', 'remove'] as const) {
    hold
      .command(`${verb} <sku>`)
      .description(verb === 'add' ? 'hold a SKU: checkout is denied with COMPLIANCE_HOLD' : 'lift a hold')
      .option('--region <region>', 'only in this region (default: every region)')
      .option('--reason <text>', 'why (required)')
      .addHelpText(
        'after',
        `\nExamples:\n  $ atpctl rules hold ${verb} SKU-123 --reason "recall R-77"\n  $ atpctl rules hold ${verb} SKU-123 --region eu-west --reason "EU import ban"`,
      )
      .action(
        run(async ({ client }, sku: string, opts: { region?: string; reason?: string }) =>
          change(`/v1/rules/holds/${verb}`, {
            sku,
            ...(opts.region === undefined ? {} : { region: opts.region }),
            reason: reason(opts),
          })(client()),
        ),
      );
  }
  const seller = rules.command('seller').description('seller constraints per node');
  seller
    .command('set <node-id>')
    .description("replace a seller node's constraints")
    .option('--handling-hours <h>', 'hours the seller needs before shipping (0..720)')
    .option('--daily-order-cap <n>', 'orders per day at most')
    .option('--blackout-hours-utc <a-b>', 'no orders from hour a to hour b UTC, e.g. 22-24')
    .option('--regions <list>', 'comma-separated regions the seller ships to')
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl rules seller set SELLER-42 --handling-hours 48 --daily-order-cap 200 --reason "seller SLA"\n  $ atpctl rules seller set SELLER-42 --blackout-hours-utc 0-6 --regions eu-west,eu-central --reason "night closure"',
    )
    .action(
      run(
        async (
          { client },
          nodeId: string,
          opts: {
            handlingHours?: string;
            dailyOrderCap?: string;
            blackoutHoursUtc?: string;
            regions?: string;
            reason?: string;
          },
        ) => {
          const body: Obj = { node_id: nodeId, reason: reason(opts) };
          if (opts.handlingHours !== undefined)
            body.handling_hours = intArg(opts.handlingHours, '--handling-hours', 0, 720);
          if (opts.dailyOrderCap !== undefined)
            body.daily_order_cap = intArg(opts.dailyOrderCap, '--daily-order-cap', 0, 10_000_000);
          if (opts.blackoutHoursUtc !== undefined) {
            const m = /^(\d{1,2})-(\d{1,2})$/.exec(opts.blackoutHoursUtc);
            if (m === null)
              throw usage(
                `--blackout-hours-utc: expected <start>-<end> hours, e.g. 22-24, got "${opts.blackoutHoursUtc}"`,
                'blackout-hours-utc',
              );
            body.blackout_hours_utc = [Number(m[1]), Number(m[2])];
          }
          if (opts.regions !== undefined)
            body.regions = opts.regions
              .split(',')
              .map((r) => r.trim())
              .filter((r) => r !== '');
          return change('/v1/rules/sellers/set', body)(client());
        },
      ),
    );
  seller
    .command('remove <node-id>')
    .description("drop a seller node's constraints")
    .option('--reason <text>', 'why (required)')
    .addHelpText('after', '\nExamples:\n  $ atpctl rules seller remove SELLER-42 --reason "offboarded"')
    .action(
      run(async ({ client }, nodeId: string, opts: { reason?: string }) =>
        change('/v1/rules/sellers/remove', { node_id: nodeId, reason: reason(opts) })(client()),
      ),
    );

  // --- shadow report --------------------------------------------------------
  program
    .command('shadow')
    .description('shadow model vs enforced policy')
    .command('report <paths...>')
    .description(
      'disagreements between the model and the rules baseline in sidecar decision logs (files or folders of *.ndjson)',
    )
    .option('--samples <n>', 'sample decision ids to list', String(DEFAULT_SAMPLES))
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl shadow report /var/log/atp/decisions.ndjson\n  $ atpctl shadow report /var/log/atp/ --samples 20 --json',
    )
    .action(
      run(async (_ctx, paths: string[], opts: { samples: string }) => {
        let r: Awaited<ReturnType<typeof shadowReport>>;
        try {
          r = await shadowReport(paths, intArg(opts.samples, '--samples', 0, 10_000));
        } catch (err) {
          if (err instanceof ControlError) throw err;
          throw usage(
            `cannot read decision logs: ${(err as Error).message}`,
            'paths',
            'pass decision-log files or folders (sidecar --decision-log <file>)',
          );
        }
        const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
        const text = [
          `records ${r.records} in ${r.files.length} file(s)${r.skippedLines > 0 ? ` (${r.skippedLines} other lines skipped)` : ''}; both sides answered on ${r.compared}`,
          `disagreements ${r.disagreements} (${pct(r.disagreementRate)}): model allows / baseline denies ${r.modelAllowsBaselineDenies}, model denies / baseline allows ${r.modelDeniesBaselineAllows}`,
          ...Object.entries(r.byEnforced).map(
            ([k, v]) => `  enforced ${k}: ${v.disagreements} of ${v.compared}`,
          ),
          ...Object.entries(r.byModelVersion).map(
            ([k, v]) => `  model ${k}: ${v.disagreements} of ${v.compared}`,
          ),
          r.reasons.length === 0
            ? 'reasons: none'
            : `reasons (side that denied):\n${table(r.reasons.map((x) => [`  ${x.side}`, x.reason, String(x.count)]))}`,
          r.samples.length === 0
            ? 'samples: none'
            : `samples:\n${table(r.samples.map((s) => [`  ${s.decisionId}`, s.region, `model ${s.model}`, `baseline ${s.baseline}`, `enforced ${s.enforced}`, s.skus.join(',')]))}`,
        ].join('\n');
        return { json: shadowReportToJson(r), text };
      }),
    );

  // --- tokens ---------------------------------------------------------------
  const token = program.command('token').description('operator tokens (admin)');
  token
    .command('create <name>')
    .description('create a token; it is printed once and stored only as a hash')
    .addOption(
      new Option('--role <role>', 'viewer | operator | admin').choices([...ROLES]).makeOptionMandatory(),
    )
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl token create alice --role operator --reason "on-call rotation"\n  $ atpctl token create sidecar-eu-west --role viewer --reason "watch stream"',
    )
    .action(
      run(async ({ client }, name: string, opts: { role: string; reason?: string }) => {
        const r = await client().post<Obj>('/v1/tokens/create', {
          name,
          role: opts.role,
          reason: reason(opts),
        });
        return { json: r, text: `token ${name} (${opts.role}) created; shown only now:\n${String(r.token)}` };
      }),
    );
  token
    .command('revoke <name>')
    .description('revoke a token at once')
    .option('--reason <text>', 'why (required)')
    .addHelpText('after', '\nExamples:\n  $ atpctl token revoke alice --reason "left the team"')
    .action(
      run(async ({ client }, name: string, opts: { reason?: string }) =>
        change('/v1/tokens/revoke', { name, reason: reason(opts) })(client()),
      ),
    );
  token
    .command('list')
    .description('token names, roles, revocations (never the tokens)')
    .action(
      run(async ({ client }) => {
        const r = await client().get<{ tokens: Obj[] }>('/v1/tokens');
        const rows = r.tokens.map((t) => [
          String(t.name),
          String(t.role),
          String(t.created_by),
          isoTime(t.created_at_ms),
          t.revoked_at_ms === null ? '' : `revoked ${isoTime(t.revoked_at_ms)}`,
        ]);
        return { json: r, text: table(rows, ['name', 'role', 'created by', 'created at', '']) };
      }),
    );

  return program;
}

export async function runAtpctl(argv: readonly string[], io: AtpctlIo): Promise<number> {
  const exit = { code: EXIT_OK };
  const program = buildProgram(io, exit);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    throw err;
  }
  return exit.code;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAtpctl(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`atpctl: ATP_ERR_INTERNAL ${err.stack ?? err.message}\n`);
      process.exitCode = EXIT_UNAVAILABLE;
    },
  );
}
