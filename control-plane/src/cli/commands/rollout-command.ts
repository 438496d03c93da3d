/** `atpctl rollout set <route> <pct>`: the share of requests that get the route's mode. */
import type { Command } from '@mercato/platform/flags';
import { type AtpctlIo, atpctlAction, postChange } from '../atpctl-action.js';
import { intArg, reasonFlag } from '../atpctl-flags.js';

export function rolloutCommand(program: Command, io: AtpctlIo): void {
  const cmd = program
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
    );
  atpctlAction(cmd, io, async ({ client }, route: string, pct: string, opts: { reason?: string }) =>
    postChange(client(), '/v1/routes/rollout', {
      prefix: route,
      rollout_pct: intArg(pct, '<pct>', 0, 100),
      reason: reasonFlag(opts),
    }),
  );
}
