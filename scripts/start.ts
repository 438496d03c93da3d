/**
 * `npm start`: the whole local system on embedded defaults (see
 * local-mesh.ts). Prints where each part listens and curls to try, each with
 * its expected outcome; stops cleanly on Ctrl-C (SIGINT) or SIGTERM.
 *
 *   npm start [-- --port N --upstream-port N --sidecar-http-port N --sidecar-grpc-port N
 *                 --control-port N --control-grpc-port N --seed N --models DIR]
 *
 * Ports default to ATP_PORT (data plane, 8080), ATP_UPSTREAM_PORT (8081),
 * ATP_SIDECAR_HTTP_PORT (8090), ATP_SIDECAR_GRPC_PORT (8091), ATP_CONTROL_PORT
 * (7070: the control plane's admin API and the operator console),
 * ATP_CONTROL_GRPC_PORT (7071: its watch stream); 0 = any free port. Exit codes: 0 stopped cleanly, 1 failed to start, 2 bad flags,
 * 3 stop timed out.
 */
import { existsSync, statSync } from 'node:fs';
import {
  createProgram,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_STOP_TIMED_OUT,
  flagError,
  intFlag,
  onAction,
  portFlag,
  runProgram,
} from '../platform/src/flags.js';
import { settleWithin, waitForStopSignal } from '../platform/src/lifecycle.js';
import { runMain } from '../platform/src/run-main.js';
import {
  DEFAULT_CONTROL_PORTS,
  DEFAULT_PORTS,
  type LocalMesh,
  MODELS_DIR,
  startLocalMesh,
} from './local-mesh.js';
import { formatTryIt } from './try-it.js';

/** stop() of every part together gets this long before the process gives up on it. */
export const STOP_TIMEOUT_MS = 15_000;
const MAX_SEED = 2 ** 31 - 1;

interface StartFlags {
  port?: string;
  upstreamPort?: string;
  sidecarHttpPort?: string;
  sidecarGrpcPort?: string;
  controlPort?: string;
  controlGrpcPort?: string;
  seed?: string;
  models?: string;
}

/** A port from its flag, else its environment variable (an error names whichever was given), else the default. */
function port(raw: string | undefined, flag: string, env: string, dflt: number): number {
  if (raw !== undefined) return portFlag(raw, flag, dflt);
  const fromEnv = process.env[env];
  return fromEnv === undefined || fromEnv === '' ? dflt : portFlag(fromEnv, env, dflt);
}

async function start(flags: StartFlags): Promise<number> {
  const ports = {
    dataPlane: port(flags.port, '--port', 'ATP_PORT', DEFAULT_PORTS.dataPlane),
    upstream: port(flags.upstreamPort, '--upstream-port', 'ATP_UPSTREAM_PORT', DEFAULT_PORTS.upstream),
    sidecarHttp: port(
      flags.sidecarHttpPort,
      '--sidecar-http-port',
      'ATP_SIDECAR_HTTP_PORT',
      DEFAULT_PORTS.sidecarHttp,
    ),
    sidecarGrpc: port(
      flags.sidecarGrpcPort,
      '--sidecar-grpc-port',
      'ATP_SIDECAR_GRPC_PORT',
      DEFAULT_PORTS.sidecarGrpc,
    ),
  };
  const controlPorts = {
    http: port(flags.controlPort, '--control-port', 'ATP_CONTROL_PORT', DEFAULT_CONTROL_PORTS.http),
    grpc: port(
      flags.controlGrpcPort,
      '--control-grpc-port',
      'ATP_CONTROL_GRPC_PORT',
      DEFAULT_CONTROL_PORTS.grpc,
    ),
  };
  const seed = intFlag(flags.seed, '--seed', { min: 0, max: MAX_SEED }, 1);
  const models = flags.models ?? MODELS_DIR;
  if (!existsSync(models) || !statSync(models).isDirectory()) {
    throw flagError('--models', `no folder at ${models}`);
  }
  const log = (line: string) => console.log(`[mesh] ${line}`);
  let mesh: LocalMesh;
  try {
    mesh = await startLocalMesh({ ports, controlPorts, seed, modelsDir: models, log });
  } catch (err) {
    const message = (err as Error).message;
    const hint = /EADDRINUSE/.test(message)
      ? ' (a port is taken: pass --port etc. or set ATP_PORT etc., 0 for any free port)'
      : '';
    console.error(`could not start the local mesh: ${message}${hint}`);
    return EXIT_FAILED;
  }
  console.log(formatTryIt(mesh));

  await waitForStopSignal();
  console.log(`\nstopping the local mesh (${mesh.eventsProduced} simulator events produced)`);
  if ((await settleWithin(mesh.stop(), STOP_TIMEOUT_MS)) === 'late') {
    console.error(`stop did not finish within ${STOP_TIMEOUT_MS} ms`);
    return EXIT_STOP_TIMED_OUT;
  }
  console.log('stopped cleanly');
  return EXIT_OK;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = createProgram('npm start', 'the whole local system on embedded defaults')
    .option('--port <port>', 'data plane port (default $ATP_PORT or 8080; 0 = any free port)')
    .option('--upstream-port <port>', 'demo checkout upstream port (default $ATP_UPSTREAM_PORT or 8081)')
    .option('--sidecar-http-port <port>', 'sidecar HTTP port (default $ATP_SIDECAR_HTTP_PORT or 8090)')
    .option('--sidecar-grpc-port <port>', 'sidecar gRPC port (default $ATP_SIDECAR_GRPC_PORT or 8091)')
    .option(
      '--control-port <port>',
      'control plane admin API and operator console port (default $ATP_CONTROL_PORT or 7070)',
    )
    .option(
      '--control-grpc-port <port>',
      'control plane watch stream port (default $ATP_CONTROL_GRPC_PORT or 7071)',
    )
    .option('--seed <n>', 'seed of the simulated world (default 1)')
    .option('--models <dir>', 'models root with CURRENT, or a bundle folder (default models/)');
  onAction(program, (flags: StartFlags) => start(flags));
  return runProgram(program, argv);
}

runMain(import.meta.url, main);
