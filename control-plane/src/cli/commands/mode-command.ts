/** `atpctl mode set <route> <mode>`: off, shadow (computes and logs, enforces nothing) or enforce. */
import type { Command } from '@mercato/platform/flags';
import { MODES } from '@mercato/proto/v1/decision';
import { type AtpctlIo, atpctlAction, postChange } from '../atpctl-action.js';
import { modeArg, reasonFlag } from '../atpctl-flags.js';

export function modeCommand(program: Command, io: AtpctlIo): void {
  const cmd = program
    .command('mode')
    .description('mode of a route')
    .command('set <route> <mode>')
    .description(`set a route's mode: ${MODES.join(' | ')} (shadow computes and logs, enforces nothing)`)
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl mode set /checkout shadow --reason "evaluate gbdt-v3"\n  $ atpctl mode set /checkout enforce --reason "shadow report clean"',
    );
  atpctlAction(cmd, io, async ({ client }, route: string, mode: string, opts: { reason?: string }) =>
    postChange(client(), '/v1/routes/mode', { prefix: route, mode: modeArg(mode), reason: reasonFlag(opts) }),
  );
}
