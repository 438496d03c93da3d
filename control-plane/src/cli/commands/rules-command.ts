/** `atpctl rules hold|seller ...`: compliance holds per SKU and seller constraints per node. */
import { type Command, flagError } from '@mercato/platform/flags';
import { type AtpctlIo, atpctlAction, type Obj, postChange } from '../atpctl-action.js';
import { intArg, reasonFlag } from '../atpctl-flags.js';

export const MAX_HANDLING_HOURS = 720;
export const MAX_DAILY_ORDER_CAP = 10_000_000;

interface SellerFlags {
  handlingHours?: string;
  dailyOrderCap?: string;
  blackoutHoursUtc?: string;
  regions?: string;
  reason?: string;
}

export function rulesCommand(program: Command, io: AtpctlIo): void {
  const rules = program.command('rules').description('compliance holds and seller constraints');
  holdCommands(rules, io);
  sellerCommands(rules, io);
}

function holdCommands(rules: Command, io: AtpctlIo): void {
  const hold = rules
    .command('hold')
    .description('compliance holds: stop promising a SKU (one region or everywhere)');
  for (const verb of ['add', 'remove'] as const) {
    const cmd = hold
      .command(`${verb} <sku>`)
      .description(verb === 'add' ? 'hold a SKU: checkout is denied with COMPLIANCE_HOLD' : 'lift a hold')
      .option('--region <region>', 'only in this region (default: every region)')
      .option('--reason <text>', 'why (required)')
      .addHelpText(
        'after',
        `\nExamples:\n  $ atpctl rules hold ${verb} SKU-123 --reason "recall R-77"\n  $ atpctl rules hold ${verb} SKU-123 --region eu-west --reason "EU import ban"`,
      );
    atpctlAction(cmd, io, async ({ client }, sku: string, opts: { region?: string; reason?: string }) =>
      postChange(client(), `/v1/rules/holds/${verb}`, {
        sku,
        ...(opts.region === undefined ? {} : { region: opts.region }),
        reason: reasonFlag(opts),
      }),
    );
  }
}

function sellerCommands(rules: Command, io: AtpctlIo): void {
  const seller = rules.command('seller').description('seller constraints per node');
  const set = seller
    .command('set <node-id>')
    .description("replace a seller node's constraints")
    .option('--handling-hours <h>', `hours the seller needs before shipping (0..${MAX_HANDLING_HOURS})`)
    .option('--daily-order-cap <n>', 'orders per day at most')
    .option('--blackout-hours-utc <a-b>', 'no orders from hour a to hour b UTC, e.g. 22-24')
    .option('--regions <list>', 'comma-separated regions the seller ships to')
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl rules seller set SELLER-42 --handling-hours 48 --daily-order-cap 200 --reason "seller SLA"\n  $ atpctl rules seller set SELLER-42 --blackout-hours-utc 0-6 --regions eu-west,eu-central --reason "night closure"',
    );
  atpctlAction(set, io, async ({ client }, nodeId: string, opts: SellerFlags) =>
    postChange(client(), '/v1/rules/sellers/set', sellerBody(nodeId, opts)),
  );
  const remove = seller
    .command('remove <node-id>')
    .description("drop a seller node's constraints")
    .option('--reason <text>', 'why (required)')
    .addHelpText('after', '\nExamples:\n  $ atpctl rules seller remove SELLER-42 --reason "offboarded"');
  atpctlAction(remove, io, async ({ client }, nodeId: string, opts: { reason?: string }) =>
    postChange(client(), '/v1/rules/sellers/remove', { node_id: nodeId, reason: reasonFlag(opts) }),
  );
}

/** The seller.set body; the control plane validates the whole constraint again. */
function sellerBody(nodeId: string, opts: SellerFlags): Obj {
  const body: Obj = { node_id: nodeId, reason: reasonFlag(opts) };
  if (opts.handlingHours !== undefined)
    body.handling_hours = intArg(opts.handlingHours, '--handling-hours', 0, MAX_HANDLING_HOURS);
  if (opts.dailyOrderCap !== undefined)
    body.daily_order_cap = intArg(opts.dailyOrderCap, '--daily-order-cap', 0, MAX_DAILY_ORDER_CAP);
  if (opts.blackoutHoursUtc !== undefined) {
    const m = /^(\d{1,2})-(\d{1,2})$/.exec(opts.blackoutHoursUtc);
    if (m === null) {
      throw flagError(
        '--blackout-hours-utc',
        `expected <start>-<end> hours, e.g. 22-24, got "${opts.blackoutHoursUtc}"`,
      );
    }
    body.blackout_hours_utc = [Number(m[1]), Number(m[2])];
  }
  if (opts.regions !== undefined) {
    // An empty list is sent as such: the control plane decides what it means.
    body.regions = opts.regions
      .split(',')
      .map((r) => r.trim())
      .filter((r) => r !== '');
  }
  return body;
}
