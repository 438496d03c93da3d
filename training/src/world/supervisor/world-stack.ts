/**
 * The infrastructure of one region of a closed-loop world, started the way
 * production starts it: Kafka (librdkafka's mock cluster, or `--brokers`),
 * Redis (a private server), and the control plane (SQLite in the run
 * directory, bootstrap tokens, the committed model bundle signed with a
 * world key, pushed and promoted through `atpctl`). It needs no world
 * clock: the services that do (ingester, sidecars, data planes;
 * world-services.ts) start once the warm-up is in Kafka and the live
 * phase's clock can be fixed.
 *
 * Every port is chosen here (free ports) and kept across restarts, so a
 * scenario can kill and restart the control plane or Redis and the other
 * processes find it where it was.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from './commands.js';
import { commands, REPO_ROOT } from './commands.js';
import { freePort } from './free-port.js';
import { startKafkaMock } from './kafka-mock.js';
import { ManagedProcess } from './managed-process.js';
import { type RedisProcess, startRedis } from './redis-process.js';

export const LISTENING_RE = /"event":"listening"/;
/** The public half of the snapshot key the control plane generates in its --state-dir (control-plane snapshot-signer.ts). */
export const SNAPSHOT_PUBLIC_KEY_FILE = 'snapshot-signing.pub.pem';
/** A one-shot command (atpctl, the batch job) gets this long (wall ms). */
export const ONE_SHOT_TIMEOUT_MS = 120_000;

export type Role = 'operator' | 'admin' | 'viewer';

export interface WorldInfraOptions {
  runDir: string;
  region: string;
  /** Sidecar tokens to create at the control plane's bootstrap (one per sidecar). */
  sidecars: number;
  /** The bundle folder to push and promote (default models/<models/CURRENT>). */
  modelDir?: string;
  brokers?: string[];
  logLevel?: string;
  onProgress?: (line: string) => void;
}

export interface ControlPlaneHandle {
  process: ManagedProcess;
  url: string;
  grpc: string;
  /** Starts it again on its database and ports (after a kill); resolves once it listens. */
  restart(): Promise<void>;
}

export interface WorldInfra {
  runDir: string;
  logsDir: string;
  region: string;
  brokers: string[];
  /** null when `brokers` were given (real brokers, not the world's). */
  kafka: ManagedProcess | null;
  redis: RedisProcess;
  controlPlane: ControlPlaneHandle;
  tokens: Record<Role, string>;
  /** One viewer token per sidecar, in a file each. */
  sidecarTokenFiles: string[];
  /** The world's bundle signing public key (PEM file), trusted by every sidecar. */
  trustedKey: string;
  /** The control plane's snapshot signing public key (PEM file, generated in its state dir): sidecars verify snapshots with it. */
  snapshotKey: string;
  /** The signed copy of the bundle the world pushed. */
  bundleDir: string;
  modelVersion: string;
  logLevel: string;
  atpctl(args: string[], role?: Role): Promise<unknown>;
  /** Runs `atp-batch <args> --region <region> --redis <url>`; resolves with its output. */
  batch(args: string[]): Promise<string>;
  /** A process of the world, started now, stopped with the infra (services register theirs). */
  spawn(name: string, cmd: Command): ManagedProcess;
  /** Runs a command to its end; rejects when it fails. */
  runOnce(name: string, cmd: Command): Promise<string>;
  /** Stops every process this infra (and spawn) started, newest first. Idempotent. */
  stop(): Promise<void>;
}

export async function startWorldInfra(o: WorldInfraOptions): Promise<WorldInfra> {
  const progress = o.onProgress ?? (() => undefined);
  const logLevel = o.logLevel ?? 'info';
  const logsDir = join(o.runDir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const started: { stop(): Promise<unknown> }[] = [];
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    for (const p of [...started].reverse()) await p.stop().catch(() => undefined);
  };
  let oneShots = 0;
  const spawn = (name: string, cmd: Command): ManagedProcess => {
    const p = new ManagedProcess({ name, ...cmd, cwd: REPO_ROOT, logPath: join(logsDir, `${name}.log`) });
    p.start();
    started.push(p);
    return p;
  };
  const runOnce = async (name: string, cmd: Command): Promise<string> => {
    const logPath = join(logsDir, `${name}.${++oneShots}.log`);
    const p = new ManagedProcess({ name, ...cmd, cwd: REPO_ROOT, logPath });
    p.start();
    const code = await p.exitWithin(ONE_SHOT_TIMEOUT_MS);
    const out = readFileSync(logPath, 'utf8');
    if (code !== 0) throw new Error(`${name} failed (exit ${code}): ${p.lastLines(6)}`);
    return out;
  };
  try {
    let brokers = o.brokers;
    let kafka: ManagedProcess | null = null;
    if (brokers === undefined) {
      const mock = await startKafkaMock(join(logsDir, 'kafka-mock.log'));
      started.push(mock.process);
      kafka = mock.process;
      brokers = mock.brokers;
      progress(`kafka mock cluster: ${brokers.join(',')}`);
    }
    const redis = await startRedis(join(logsDir, 'redis.log'));
    started.push(redis.process);
    progress(`redis: ${redis.url}`);

    // Keys: the world signs the committed bundle as an operator would sign a release.
    const keys = join(o.runDir, 'keys');
    mkdirSync(keys, { recursive: true });
    const kp = generateKeyPairSync('ed25519');
    const privateKey = join(keys, 'bundle.key.pem');
    const trustedKey = join(keys, 'bundle.pub.pem');
    writeFileSync(privateKey, kp.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    writeFileSync(trustedKey, kp.publicKey.export({ format: 'pem', type: 'spki' }));
    const token = () => randomBytes(24).toString('hex');
    const tokens: Record<Role, string> = { admin: token(), operator: token(), viewer: token() };
    const sidecarTokens = Array.from({ length: o.sidecars }, token);
    const sidecarTokenFiles = sidecarTokens.map((t, i) => {
      const file = join(o.runDir, `sidecar-${i + 1}.token`);
      writeFileSync(file, t, { mode: 0o600 });
      return file;
    });
    const bootstrap = join(o.runDir, 'bootstrap-tokens.json');
    writeFileSync(
      bootstrap,
      JSON.stringify([
        { name: 'world-admin', role: 'admin', token: tokens.admin },
        { name: 'world-operator', role: 'operator', token: tokens.operator },
        { name: 'world-viewer', role: 'viewer', token: tokens.viewer },
        ...sidecarTokens.map((t, i) => ({ name: `sidecar-${i + 1}`, role: 'viewer', token: t })),
      ]),
      { mode: 0o600 },
    );

    const cpHttp = await freePort();
    const cpGrpc = await freePort();
    const cpArgs = [
      'serve',
      '--db',
      `sqlite:${join(o.runDir, 'control-plane.db')}`,
      '--http-port',
      String(cpHttp),
      '--grpc-port',
      String(cpGrpc),
      '--state-dir',
      join(o.runDir, 'control-plane'),
      '--trusted-key',
      trustedKey,
      '--bootstrap-tokens',
      bootstrap,
      '--log-level',
      'info',
    ];
    const cp = spawn('control-plane', commands.controlPlane(cpArgs));
    await cp.waitForLine(LISTENING_RE);
    const controlPlane: ControlPlaneHandle = {
      process: cp,
      url: `http://127.0.0.1:${cpHttp}`,
      grpc: `127.0.0.1:${cpGrpc}`,
      async restart() {
        cp.start();
        await cp.waitForLine(LISTENING_RE);
      },
    };
    progress(`control plane: ${controlPlane.url}`);

    const atpctl = async (args: string[], role: Role = 'operator'): Promise<unknown> => {
      const out = await runOnce(
        `atpctl-${args[0]}`,
        commands.atpctl(['--server', controlPlane.url, '--token', tokens[role], '--json', ...args]),
      );
      return lastJson(out);
    };

    // The committed bundle, signed with the world key, pushed and promoted.
    const bundleSrc = resolve(
      REPO_ROOT,
      o.modelDir ?? join('models', readFileSync(join(REPO_ROOT, 'models/CURRENT'), 'utf8').trim()),
    );
    const bundleDir = join(o.runDir, 'bundle');
    cpSync(bundleSrc, bundleDir, { recursive: true });
    await runOnce('atpctl-sign', commands.atpctl(['model', 'sign', bundleDir, '--key', privateKey]));
    const manifestVersion = (
      JSON.parse(readFileSync(join(bundleDir, 'manifest.json'), 'utf8')) as { version: string }
    ).version;
    const pushed = (await atpctl(['model', 'push', bundleDir, '--reason', 'closed-loop world'], 'admin')) as {
      version?: string;
    } | null;
    const modelVersion = pushed?.version ?? manifestVersion;
    await atpctl(['model', 'promote', modelVersion, '--reason', 'closed-loop world']);
    progress(`model ${modelVersion} pushed and promoted`);

    // The data planes start on the world clock, where a build would eat into the live phase: build first.
    await runOnce('build-wasm', commands.buildWasm());

    const batch = (args: string[]) =>
      runOnce(`batch-${args[0]}`, commands.batch([...args, '--region', o.region, '--redis', redis.url]));

    return {
      runDir: o.runDir,
      logsDir,
      region: o.region,
      brokers,
      kafka,
      redis,
      controlPlane,
      tokens,
      sidecarTokenFiles,
      trustedKey,
      snapshotKey: join(o.runDir, 'control-plane', SNAPSHOT_PUBLIC_KEY_FILE),
      bundleDir,
      modelVersion,
      logLevel,
      atpctl,
      batch,
      spawn,
      runOnce,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The JSON document of a command's output (atpctl --json prints one, maybe over several lines). */
function lastJson(out: string): unknown {
  const text = out
    .split('\n')
    .filter((l) => !l.startsWith('[world]'))
    .join('\n')
    .trim();
  const at = text.search(/^[[{]/m);
  if (at < 0) return null;
  try {
    return JSON.parse(text.slice(at));
  } catch {
    return null;
  }
}
