/**
 * atpctl: the operator CLI of the ATP control plane. The root only
 * assembles: global options here, one file per command group under
 * commands/, what they share in atpctl-action.ts and atpctl-flags.ts.
 *
 *   atpctl status                                   (installed bin: control-plane/bin/atpctl.js)
 *   npm run atpctl -- killswitch set --scope region:eu-west --reason "incident 4711"
 *
 * Server and token: --server / ATP_CONTROL_URL (default
 * http://127.0.0.1:7070), --token / ATP_CONTROL_TOKEN or --token-file /
 * ATP_CONTROL_TOKEN_FILE; an https:// server is verified against the system
 * CAs or --ca <pem> / ATP_CONTROL_CA. Every command takes --json (machine output on
 * stdout; errors as the API's JSON error body on stderr). Exit codes:
 * 0 done, 1 refused by the control plane, 2 bad usage or local input,
 * 3 control plane unreachable or failing (retry).
 *
 * `runAtpctl(argv, io)` runs in process (tests, e2e timing); `main` is the
 * process entry (this file under node --import tsx, or the bin).
 */
import { type Command, createProgram, runProgram } from '@mercato/platform/flags';
import { runMain } from '@mercato/platform/run-main';
import { DEFAULT_SERVER_URL, DEFAULT_TIMEOUT_MS } from './admin-client.js';
import { type AtpctlIo, processIo } from './atpctl-action.js';
import { auditCommand } from './commands/audit-command.js';
import { driftCommand } from './commands/drift-command.js';
import { experimentCommand } from './commands/experiment-command.js';
import { killswitchCommand } from './commands/killswitch-command.js';
import { modeCommand } from './commands/mode-command.js';
import { modelCommand } from './commands/model-command.js';
import { regionCommand } from './commands/region-command.js';
import { rolloutCommand } from './commands/rollout-command.js';
import { rulesCommand } from './commands/rules-command.js';
import { shadowCommand } from './commands/shadow-command.js';
import { snapshotCommand } from './commands/snapshot-command.js';
import { statusCommand } from './commands/status-command.js';
import { tokenCommand } from './commands/token-command.js';

export type { AtpctlIo } from './atpctl-action.js';

/** The command groups, in the order --help lists them. */
const COMMAND_GROUPS: readonly ((program: Command, io: AtpctlIo) => void)[] = [
  statusCommand,
  snapshotCommand,
  auditCommand,
  killswitchCommand,
  modeCommand,
  rolloutCommand,
  modelCommand,
  rulesCommand,
  shadowCommand,
  driftCommand,
  experimentCommand,
  regionCommand,
  tokenCommand,
];

const ROOT_HELP = `
Examples:
  $ export ATP_CONTROL_URL=http://127.0.0.1:7070 ATP_CONTROL_TOKEN=atp_...
  $ atpctl status
  $ atpctl killswitch set --scope region:eu-west --reason "INC-4711 oversell spike"
  $ atpctl mode set /checkout shadow --reason "new model in shadow"
  $ atpctl model rollback --reason "INC-4712 p_fulfill drift"
  $ atpctl region list
  $ atpctl --json audit --limit 20

Exit codes: 0 done, 1 refused by the control plane, 2 bad usage, 3 unreachable (retry).`;

export function buildAtpctl(io: AtpctlIo): Command {
  const program = createProgram(
    'atpctl',
    'Operate the ATP control plane: kill switches, modes, rollout, models, rules, regions, audit, shadow reports.',
  )
    .showHelpAfterError('(add --help for usage and examples)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .option('--server <url>', `control plane admin URL (env ATP_CONTROL_URL, default ${DEFAULT_SERVER_URL})`)
    .option('--token <token>', 'bearer token (env ATP_CONTROL_TOKEN)')
    .option('--token-file <path>', 'file holding the bearer token (env ATP_CONTROL_TOKEN_FILE)')
    .option('--ca <pem>', 'CA certificate that signed the control plane certificate (env ATP_CONTROL_CA)')
    .option('--json', 'print JSON (the API response) instead of text')
    .option(
      '--timeout-ms <ms>',
      `give up on the control plane after this long (default ${DEFAULT_TIMEOUT_MS})`,
    )
    .addHelpText('after', ROOT_HELP);
  for (const add of COMMAND_GROUPS) add(program, io);
  return program;
}

/** Runs one atpctl command line in this process; resolves with its exit code. */
export function runAtpctl(argv: readonly string[], io: AtpctlIo): Promise<number> {
  return runProgram(buildAtpctl(io), argv);
}

export function main(argv: readonly string[]): Promise<number> {
  return runAtpctl(argv, processIo());
}

runMain(import.meta.url, main);
