/** `atpctl region list|show|put|remove`: the region registry (reads: viewer; changes: admin). */
import { AtpError } from '@mercato/platform/errors';
import { type Command, flagError, Option } from '@mercato/platform/flags';
import { AGGREGATE_KINDS, RESIDENCY_CLASSES } from '@mercato/proto/v1/region-registry';
import { ERR } from '../../errors.js';
import { type AtpctlIo, atpctlAction, type Obj, postChange } from '../atpctl-action.js';
import { reasonFlag } from '../atpctl-flags.js';
import { table } from '../output.js';

interface PutFlags {
  residency: string;
  redis?: string;
  kafka?: string;
  flow?: string[];
  reason?: string;
}

const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** `--flow <to>=<kind>[,<kind>...]` -> {to, kinds}; the control plane checks names and kinds again. */
export function flowFlag(raw: string): { to: string; kinds: string[] } {
  const eq = raw.indexOf('=');
  if (eq <= 0 || eq === raw.length - 1) {
    throw flagError(
      '--flow',
      `expected <region>=<kind>[,<kind>...] (kinds: ${AGGREGATE_KINDS.join(', ')}), got "${raw}"`,
    );
  }
  return {
    to: raw.slice(0, eq),
    kinds: raw
      .slice(eq + 1)
      .split(',')
      .map((k) => k.trim()),
  };
}

function flowsText(r: Obj): string {
  const flows = (r.flows as { to: string; kinds: string[] }[] | undefined) ?? [];
  return flows.length === 0 ? '-' : flows.map((f) => `${f.to}(${f.kinds.join('+')})`).join(' ');
}

export function regionCommand(program: Command, io: AtpctlIo): void {
  const region = program
    .command('region')
    .description('the region registry: regions, residency, endpoints, allowed flows (changes: admin)');
  const list = region
    .command('list')
    .description('every region of the registry in force, and its version')
    .addHelpText('after', '\nExamples:\n  $ atpctl region list\n  $ atpctl --json region list');
  atpctlAction(list, io, async ({ client }) => {
    const r = await client().get<Obj>('/v1/regions');
    const rows = (r.regions as Obj[]).map((x) => [
      String(x.name),
      String(x.residency),
      String(x.redis_url ?? '-'),
      ((x.kafka_brokers as string[] | undefined) ?? []).join(',') || '-',
      flowsText(x),
    ]);
    return {
      json: r,
      text: `region registry version ${String(r.version)}\n${table(rows, ['REGION', 'RESIDENCY', 'REDIS', 'KAFKA', 'FLOWS TO'])}`,
    };
  });
  const show = region
    .command('show <name>')
    .description('one region of the registry')
    .addHelpText('after', '\nExamples:\n  $ atpctl region show eu-west');
  atpctlAction(show, io, async ({ client }, name: string) => {
    const r = await client().get<Obj>('/v1/regions');
    const regions = r.regions as Obj[];
    const x = regions.find((e) => e.name === name);
    if (x === undefined) {
      throw new AtpError(
        ERR.NOT_FOUND,
        `no region ${name} in the registry (known regions: ${regions.map((e) => String(e.name)).join(', ')})`,
        'name',
      );
    }
    const lines = [
      `region ${name} (registry version ${String(r.version)})`,
      `  residency  ${String(x.residency)}`,
      `  redis      ${String(x.redis_url ?? '-')}`,
      `  kafka      ${((x.kafka_brokers as string[] | undefined) ?? []).join(',') || '-'}`,
      `  flows to   ${flowsText(x)}`,
    ];
    return { json: { registry_version: r.version, region: x }, text: lines.join('\n') };
  });
  const put = region
    .command('put <name>')
    .description('add a region or replace its entry (admin)')
    .addOption(
      new Option('--residency <class>', RESIDENCY_CLASSES.join(' | '))
        .choices([...RESIDENCY_CLASSES])
        .makeOptionMandatory(),
    )
    .option('--redis <url>', "the region's Redis, redis://host:port")
    .option('--kafka <brokers>', "the region's Kafka brokers, host:port[,host:port...]")
    .option(
      '--flow <region=kinds>',
      `aggregates this region may send there, e.g. us-east=model-bundle,metrics (kinds: ${AGGREGATE_KINDS.join(', ')}); repeatable`,
      collect,
    )
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl region put ap-south --residency open --redis redis://redis.ap-south:6379 --kafka kafka.ap-south:9092 --flow eu-west=model-bundle,metrics --reason "new region"\n\nUser-level data (buyer ids, addresses, payloads, decision and outcome records) is never a flow kind.',
    );
  atpctlAction(put, io, async ({ client }, name: string, opts: PutFlags) => {
    const body: Obj = { name, residency: opts.residency, reason: reasonFlag(opts) };
    if (opts.redis !== undefined) body.redis_url = opts.redis;
    if (opts.kafka !== undefined) body.kafka_brokers = opts.kafka.split(',').map((b) => b.trim());
    body.flows = (opts.flow ?? []).map(flowFlag);
    return postChange(client(), '/v1/regions/put', body);
  });
  const remove = region
    .command('remove <name>')
    .description('remove a region (admin); refused while anything still names it')
    .option('--reason <text>', 'why (required)')
    .addHelpText('after', '\nExamples:\n  $ atpctl region remove ap-south --reason "region closed"');
  atpctlAction(remove, io, async ({ client }, name: string, opts: { reason?: string }) =>
    postChange(client(), '/v1/regions/remove', { name, reason: reasonFlag(opts) }),
  );
}
