/** `atpctl snapshot`: the control snapshot sidecars receive, latest or a past version (JSON either way). */
import type { Command } from '@mercato/platform/flags';
import { type AtpctlIo, atpctlAction } from '../atpctl-action.js';
import { intArg } from '../atpctl-flags.js';

export function snapshotCommand(program: Command, io: AtpctlIo): void {
  const cmd = program
    .command('snapshot')
    .description('print the control snapshot sidecars receive (JSON)')
    .option('--version <n>', 'a past version instead of the latest')
    .addHelpText('after', '\nExamples:\n  $ atpctl snapshot\n  $ atpctl snapshot --version 12');
  atpctlAction(cmd, io, async ({ client }, opts: { version?: string }) => {
    const q =
      opts.version === undefined
        ? ''
        : `?version=${intArg(opts.version, '--version', 1, Number.MAX_SAFE_INTEGER)}`;
    const s = await client().get(`/v1/snapshot${q}`);
    return { json: s, text: JSON.stringify(s, null, 2) };
  });
}
