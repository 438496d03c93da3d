/**
 * `atpctl experiment create|list|status|start|stop|report`: A/B experiments
 * between the naive-ATP baseline, the champion and challengers, split by a
 * stable hash of the buyer key the filter computes inside the pod.
 */
import { readFileSync } from 'node:fs';
import { AtpError } from '@mercato/platform/errors';
import { type Command, flagError } from '@mercato/platform/flags';
import { ERR, withHint } from '../../errors.js';
import { AdminClient, DEFAULT_TIMEOUT_MS } from '../admin-client.js';
import { type AtpctlIo, atpctlAction, type Obj, postChange } from '../atpctl-action.js';
import { reasonFlag } from '../atpctl-flags.js';
import { experimentReportText, experimentText } from './experiment-output.js';

const collect = (v: string, prev: string[]) => [...prev, v];
const ARM_RE = /^([^:]+):(naive|champion|challenger):(\d+)(?::(.+))?$/;
const THRESHOLD_RE = /^([^.]+)\.([a-z_]+)=([0-9.]+)$/;

interface CreateOpts {
  file?: string;
  route: string[];
  region: string[];
  arm: string[];
  threshold: string[];
  salt?: string;
  guardrailAlpha?: string;
  guardrailMinPromised?: string;
  guardrailMargin?: string;
  noGuardrail?: boolean;
  guardrail?: boolean;
  start?: boolean;
  reason?: string;
}

/** The create body from flags (or --file); the control plane validates it and names the field. */
export function createBody(id: string, o: CreateOpts): Obj {
  if (o.file !== undefined) {
    let spec: Obj;
    try {
      spec = JSON.parse(readFileSync(o.file, 'utf8')) as Obj;
    } catch (err) {
      throw new AtpError(
        withHint(ERR.CONFIG_INVALID, 'pass a JSON file with routes, regions and arms'),
        `--file: ${(err as Error).message}`,
        '--file',
      );
    }
    return { ...spec, id, ...(o.start === true ? { start: true } : {}), reason: reasonFlag(o) };
  }
  const arms: Obj[] = o.arm.map((raw) => {
    const m = ARM_RE.exec(raw);
    if (m === null)
      throw flagError(
        '--arm',
        `expected <name>:<naive|champion|challenger>:<weight_bp>[:<model>], got "${raw}"`,
      );
    return {
      name: m[1],
      kind: m[2],
      weight_bp: Number(m[3]),
      ...(m[4] === undefined ? {} : { model_version: m[4] }),
    };
  });
  for (const raw of o.threshold) {
    const m = THRESHOLD_RE.exec(raw);
    const arm = m === null ? undefined : arms.find((a) => a.name === m[1]);
    if (m === null || arm === undefined)
      throw flagError(
        '--threshold',
        `expected <arm>.<checkout_cold|checkout_hot|browse_cold|browse_hot|stale_margin>=<0..1> of a declared arm, got "${raw}"`,
      );
    arm.thresholds = { ...((arm.thresholds as Obj | undefined) ?? {}), [m[2] as string]: Number(m[3]) };
  }
  const guardrail: Obj = {};
  if (o.guardrail === false) guardrail.enabled = false;
  if (o.guardrailAlpha !== undefined) guardrail.alpha = Number(o.guardrailAlpha);
  if (o.guardrailMinPromised !== undefined) guardrail.min_promised_per_arm = Number(o.guardrailMinPromised);
  if (o.guardrailMargin !== undefined) guardrail.margin = Number(o.guardrailMargin);
  return {
    id,
    routes: o.route,
    regions: o.region,
    arms,
    ...(o.salt === undefined ? {} : { salt: o.salt }),
    ...(Object.keys(guardrail).length === 0 ? {} : { guardrail }),
    ...(o.start === true ? { start: true } : {}),
    reason: reasonFlag(o),
  };
}

export function experimentCommand(program: Command, io: AtpctlIo): void {
  const ex = program
    .command('experiment')
    .description('A/B experiments: naive baseline, champion, challengers');

  const create = ex
    .command('create <id>')
    .description('create an experiment (a draft; --start runs it at once)')
    .option('--file <json>', 'the experiment as JSON (routes, regions, arms, guardrail)')
    .option('--route <prefix>', 'route prefix it covers (repeat)', collect, [])
    .option('--region <region>', 'region it runs in (repeat)', collect, [])
    .option(
      '--arm <spec>',
      '<name>:<naive|champion|challenger>:<weight_bp>[:<model version>] (repeat; weights sum to 10000)',
      collect,
      [],
    )
    .option(
      '--threshold <spec>',
      '<arm>.<checkout_cold|checkout_hot|browse_cold|browse_hot|stale_margin>=<p> (repeat)',
      collect,
      [],
    )
    .option('--salt <salt>', 'hashing salt (default: the id)')
    .option('--guardrail-alpha <a>', 'oversell guardrail alpha (default 0.05)')
    .option(
      '--guardrail-min-promised <n>',
      'promises per arm before the guardrail may stop one (default 500)',
    )
    .option('--guardrail-margin <m>', 'excess oversell rate tolerated (default 0)')
    .option('--no-guardrail', 'no automatic stop')
    .option('--start', 'start it now')
    .option('--reason <text>', 'why (required; goes to the audit log)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl experiment create ab-1 --route /checkout --region eu-west \\\n      --arm control:naive:5000 --arm model:champion:5000 --start --reason "model vs naive"\n  $ atpctl experiment create ab-2 --route /checkout --region eu-west --arm champ:champion:5000 \\\n      --arm chal:challenger:5000:m-2026-12 --threshold chal.checkout_cold=0.8 --reason "lower threshold"',
    );
  atpctlAction(create, io, async ({ client }, id: string, opts: CreateOpts) =>
    postChange(client(), '/v1/experiments/create', createBody(id, opts)),
  );

  const list = ex.command('list').description('every experiment and its state');
  atpctlAction(list, io, async ({ client }) => {
    const r = await client().get<Obj>('/v1/experiments');
    const all = r.experiments as Obj[];
    return {
      json: r,
      text: all.length === 0 ? 'no experiments' : all.map((e) => experimentText(e, false)).join('\n'),
    };
  });

  const status = ex.command('status <id>').description('one experiment, its arms and its history');
  atpctlAction(status, io, async ({ client }, id: string) => {
    const r = await client().get<Obj>(`/v1/experiments?id=${encodeURIComponent(id)}`);
    const e = (r.experiments as Obj[])[0] as Obj;
    const history = (r.history as Obj[]).map(
      (h) => `  r${String(h.revision)} ${String(h.state)} by ${String(h.changed_by)}: ${String(h.reason)}`,
    );
    return { json: r, text: `${experimentText(e, true)}\nhistory:\n${history.join('\n')}` };
  });

  const start = ex
    .command('start <id>')
    .description('start a draft')
    .option('--reason <text>', 'why (required)');
  atpctlAction(start, io, async ({ client }, id: string, opts: { reason?: string }) =>
    postChange(client(), '/v1/experiments/start', { id, reason: reasonFlag(opts) }),
  );

  const stop = ex
    .command('stop <id>')
    .description('stop an experiment, or with --arm one treatment arm (its buckets get the control policy)')
    .option('--arm <name>', 'stop only this arm')
    .option('--reason <text>', 'why (required)');
  atpctlAction(stop, io, async ({ client }, id: string, opts: { arm?: string; reason?: string }) =>
    opts.arm === undefined
      ? postChange(client(), '/v1/experiments/stop', { id, reason: reasonFlag(opts) })
      : postChange(client(), '/v1/experiments/stop-arm', { id, arm: opts.arm, reason: reasonFlag(opts) }),
  );

  const report = ex
    .command('report <id>')
    .description(
      "per-arm figures with intervals, the SRM check and the guardrail, from the evaluation service's API",
    )
    .option('--evaluation <url>', 'evaluation service (atp-evaluate run --http-port; env ATP_EVALUATION_URL)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl experiment report ab-1 --evaluation http://127.0.0.1:9464',
    );
  atpctlAction(report, io, async (_ctx, id: string, opts: { evaluation?: string }) => {
    const url = opts.evaluation ?? io.env.ATP_EVALUATION_URL;
    if (url === undefined) throw flagError('--evaluation', 'required (or ATP_EVALUATION_URL)');
    const evaluation = new AdminClient({
      baseUrl: url,
      token: null,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      ca: null,
    });
    const r = await evaluation.get<Obj>(`/v1/experiments/${encodeURIComponent(id)}`);
    return { json: r, text: experimentReportText(r) };
  });
}
