/** `atpctl killswitch set|clear --scope ...`: ATP off (pass-through) for a scope, or back on. */
import type { Command } from '@mercato/platform/flags';
import { type AtpctlIo, atpctlAction, postChange } from '../atpctl-action.js';
import { reasonFlag, scopeFlag } from '../atpctl-flags.js';

export function killswitchCommand(program: Command, io: AtpctlIo): void {
  const ks = program
    .command('killswitch')
    .description('turn ATP off (pass-through) for a scope: global, region, route or sku');
  for (const verb of ['set', 'clear'] as const) {
    const cmd = ks
      .command(verb)
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
      );
    atpctlAction(cmd, io, async ({ client }, opts: { scope: string; reason?: string }) =>
      postChange(client(), `/v1/kill-switches/${verb}`, {
        ...scopeFlag(opts.scope),
        reason: reasonFlag(opts),
      }),
    );
  }
}
