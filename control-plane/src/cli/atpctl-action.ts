/**
 * What every atpctl command shares: its I/O, the lazily built admin client
 * (local commands such as `model sign` never resolve a server or token),
 * printing the result as text or `--json`, and turning a failure into the
 * printed error and atpctl's exit code:
 *
 *   0 done, 1 refused by the control plane, 2 bad usage or local input,
 *   3 control plane unreachable or failing (retry).
 */
import { type AtpError, errorBody } from '@mercato/platform/errors';
import {
  type Command,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_UNAVAILABLE,
  EXIT_USAGE,
  onAction,
} from '@mercato/platform/flags';
import { controlErrorOf, ERR } from '../errors.js';
import { AdminClient, DEFAULT_SERVER_URL, DEFAULT_TIMEOUT_MS } from './admin-client.js';
import { intFlagWithin, resolveCa, resolveToken } from './atpctl-flags.js';
import { changeLine } from './output.js';

/** Where atpctl writes and what environment it reads (the process's, or a test's). */
export interface AtpctlIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

/** The root's options, as every command sees them. */
export interface GlobalFlags {
  server?: string;
  token?: string;
  tokenFile?: string;
  json?: boolean;
  timeoutMs?: string;
  ca?: string;
}

/**
 * A command's answer: the API's JSON for --json, a few lines for people
 * otherwise; or `streamed` when the command already wrote its output
 * (an NDJSON export) and nothing more is printed.
 */
export type CommandResult = { json: unknown; text: string } | { streamed: true };

export interface ActionContext {
  /** The admin client for --server / ATP_CONTROL_URL with the resolved token; built on first use. */
  client(): AdminClient;
}

export type Obj = Record<string, unknown>;

export function processIo(): AtpctlIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  };
}

/**
 * Registers `fn` as the action of `cmd`: prints its result and resolves
 * with EXIT_OK, or prints the error (text, or the API's JSON error body
 * under --json) and resolves with the exit code it means.
 */
export function atpctlAction<A extends unknown[]>(
  cmd: Command,
  io: AtpctlIo,
  fn: (ctx: ActionContext, ...args: A) => Promise<CommandResult>,
): Command {
  return onAction(cmd, async (...args: A) => {
    const g = cmd.optsWithGlobals<GlobalFlags>();
    try {
      let client: AdminClient | null = null;
      const ctx: ActionContext = {
        client: () => {
          client ??= new AdminClient({
            baseUrl: g.server ?? io.env.ATP_CONTROL_URL ?? DEFAULT_SERVER_URL,
            token: resolveToken(g, io.env),
            timeoutMs: intFlagWithin(g.timeoutMs, '--timeout-ms', 1, 3_600_000, DEFAULT_TIMEOUT_MS),
            ca: resolveCa(g, io.env),
          });
          return client;
        },
      };
      const r = await fn(ctx, ...args);
      if (!('streamed' in r)) io.stdout(`${g.json === true ? JSON.stringify(r.json, null, 2) : r.text}\n`);
      return EXIT_OK;
    } catch (err) {
      const e = controlErrorOf(err);
      io.stderr(g.json === true ? `${JSON.stringify(errorBody(e))}\n` : errorText(e));
      return exitCodeFor(e);
    }
  });
}

/** What a script should make of a failure. */
export function exitCodeFor(e: AtpError): number {
  if (e.code === ERR.INVALID_FLAG.code || e.code === ERR.CONFIG_INVALID.code) return EXIT_USAGE;
  if (e.spec.retriable || e.code === ERR.UNAVAILABLE.code) return EXIT_UNAVAILABLE;
  return EXIT_FAILED;
}

function errorText(e: AtpError): string {
  const field = e.field === undefined ? '' : `  field: ${e.field}\n`;
  const hint = e.spec.hint === undefined ? '' : `  what to do: ${e.spec.hint}\n`;
  return `atpctl: ${e.code}: ${e.message}\n${field}${hint}`;
}

/** POSTs a change command; the answer's text is one line: accepted, and the snapshot version it produced. */
export async function postChange(client: AdminClient, path: string, body: Obj): Promise<CommandResult> {
  const r = await client.post<Obj>(path, body);
  return { json: r, text: changeLine(r) };
}
