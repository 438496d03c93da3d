/**
 * Every product process of one region of a closed-loop world, started the
 * way production starts them and wired through the same endpoints:
 * Kafka (librdkafka's mock cluster, or `--brokers`), Redis (a private
 * server, or `--redis`), the control plane (SQLite in the run directory,
 * bootstrap tokens, the committed model bundle signed with a world key,
 * pushed and promoted through `atpctl`), the batch job (directory once,
 * batch features from the warm-up history), the ingester, N sidecars and one
 * data plane (the compiled filter in the emulator) per sidecar, in front of
 * the world's order service. Every process runs on the same world clock.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from './commands.js';
import { commands, REPO_ROOT } from './commands.js';
import { startKafkaMock } from './kafka-mock.js';
import { ManagedProcess } from './managed-process.js';
import { type RedisProcess, startRedis } from './redis-process.js';

export const LISTENING_RE = /"event":"listening"/;
/** Sidecars answer the filter within its budget; a world on a loaded machine gets a little more. */
export const WORLD_FILTER_TIMEOUT_MS = 60;

export interface WorldStackOptions {
  runDir: string;
  region: string;
  /** `--world-clock` spec every process runs on. */
  clockSpec: string;
  sidecars: number;
  policy: 'model' | 'naive';
  /** The bundle folder sidecars answer with (default models/CURRENT). */
  modelDir?: string;
  brokers?: string[];
  redisUrl?: string;
  /** Port of the world's order service (the upstream behind every data plane). */
  orderServicePort: number;
  logLevel?: string;
  onProgress?: (line: string) => void;
}

export interface SidecarPod {
  id: string;
  sidecar: ManagedProcess;
  dataPlane: ManagedProcess;
  httpPort: number;
  grpcPort: number;
  dataPlanePort: number;
  metricsUrl: string;
}

export interface WorldStack {
  brokers: string[];
  redisUrl: string;
  redis: RedisProcess | null;
  controlPlane: { process: ManagedProcess; url: string; grpc: string };
  tokens: { admin: string; operator: string; viewer: string };
  ingester: ManagedProcess;
  pods: SidecarPod[];
  modelVersion: string;
  /** Runs an atpctl command against the world's control plane as the operator (JSON output). */
  atpctl(args: string[], role?: 'operator' | 'admin' | 'viewer'): Promise<unknown>;
  /** Runs `atp-batch` with the world's region and Redis. */
  batch(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startWorldStack(o: WorldStackOptions): Promise<WorldStack> {
  const progress = o.onProgress ?? (() => undefined);
  const logs = join(o.runDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const started: { stop(): Promise<unknown> }[] = [];
  const stopAll = async () => {
    for (const p of started.reverse()) await p.stop().catch(() => undefined);
  };
  try {
    let brokers = o.brokers;
    if (brokers === undefined) {
      const kafka = await startKafkaMock(join(logs, 'kafka-mock.log'));
      started.push(kafka.process);
      brokers = kafka.brokers;
      progress(`kafka mock cluster: ${brokers.join(',')}`);
    }
    let redis: RedisProcess | null = null;
    let redisUrl = o.redisUrl;
    if (redisUrl === undefined) {
      redis = await startRedis(join(logs, 'redis.log'));
      started.push(redis.process);
      redisUrl = redis.url;
      progress(`redis: ${redisUrl}`);
    }
    const spawn = (name: string, cmd: Command): ManagedProcess => {
      const p = new ManagedProcess({ name, ...cmd, cwd: REPO_ROOT, logPath: join(logs, `${name}.log`) });
      p.start();
      started.push(p);
      return p;
    };
    const run = async (name: string, cmd: Command): Promise<string> => {
      const p = new ManagedProcess({ name, ...cmd, cwd: REPO_ROOT, logPath: join(logs, `${name}.log`) });
      p.start();
      const code = await p.stop(600_000).catch(() => null);
      const out = readFileSync(join(logs, `${name}.log`), 'utf8');
      if (code !== 0) throw new Error(`${name} failed (exit ${code}): ${p.lastLines(6)}`);
      return out;
    };

    // Keys: the world signs the committed bundle as an operator would sign a release.
    const keys = join(o.runDir, 'keys');
    mkdirSync(keys, { recursive: true });
    const kp = generateKeyPairSync('ed25519');
    writeFileSync(join(keys, 'bundle.key.pem'), kp.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
      mode: 0o600,
    });
    writeFileSync(join(keys, 'bundle.pub.pem'), kp.publicKey.export({ format: 'pem', type: 'spki' }));
    const token = () => randomBytes(24).toString('hex');
    const tokens = { admin: token(), operator: token(), viewer: token() };
    const sidecarTokens = Array.from({ length: o.sidecars }, token);
    writeFileSync(
      join(o.runDir, 'bootstrap-tokens.json'),
      JSON.stringify([
        { name: 'world-admin', role: 'admin', token: tokens.admin },
        { name: 'world-operator', role: 'operator', token: tokens.operator },
        { name: 'world-viewer', role: 'viewer', token: tokens.viewer },
        ...sidecarTokens.map((t, i) => ({ name: `sidecar-${i + 1}`, role: 'viewer', token: t })),
      ]),
      { mode: 0o600 },
    );

    const cp = spawn(
      'control-plane',
      commands.controlPlane([
        'serve',
        '--db',
        `sqlite:${join(o.runDir, 'control-plane.db')}`,
        '--http-port',
        '0',
        '--grpc-port',
        '0',
        '--state-dir',
        join(o.runDir, 'control-plane'),
        '--trusted-key',
        join(keys, 'bundle.pub.pem'),
        '--bootstrap-tokens',
        join(o.runDir, 'bootstrap-tokens.json'),
        '--log-level',
        o.logLevel ?? 'warn',
      ]),
    );
    const cpLine = await cp.waitForLine(LISTENING_RE);
    const cpPorts = JSON.parse(cpLine.input) as { httpPort: number; grpcPort: number };
    const controlPlane = {
      process: cp,
      url: `http://127.0.0.1:${cpPorts.httpPort}`,
      grpc: `127.0.0.1:${cpPorts.grpcPort}`,
    };
    progress(`control plane: ${controlPlane.url}`);

    const atpctl = async (args: string[], role: 'operator' | 'admin' | 'viewer' = 'operator') => {
      const out = await run(
        `atpctl-${args[0]}-${Date.now()}`,
        commands.atpctl(['--server', controlPlane.url, '--token', tokens[role], '--json', ...args]),
      );
      const json = out.split('\n').find((l) => l.startsWith('{') || l.startsWith('['));
      return json === undefined ? null : JSON.parse(json);
    };

    // The committed bundle, signed with the world key, pushed and promoted.
    const bundleSrc = resolve(
      REPO_ROOT,
      o.modelDir ?? join('models', readFileSync(join(REPO_ROOT, 'models/CURRENT'), 'utf8').trim()),
    );
    const bundle = join(o.runDir, 'bundle');
    cpSync(bundleSrc, bundle, { recursive: true });
    await run(
      'atpctl-sign',
      commands.atpctl(['model', 'sign', bundle, '--key', join(keys, 'bundle.key.pem')]),
    );
    const pushed = (await atpctl(['model', 'push', bundle, '--reason', 'closed-loop world'], 'admin')) as {
      version?: string;
    } | null;
    const modelVersion =
      pushed?.version ??
      (JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as { version: string }).version;
    await atpctl(['model', 'promote', modelVersion, '--reason', 'closed-loop world']);
    progress(`model ${modelVersion} pushed and promoted`);

    const batch = (args: string[]) =>
      run(
        `batch-${args[0]}-${Date.now()}`,
        commands.batch([...args, '--region', o.region, '--redis', redisUrl]),
      );

    const ingester = spawn(
      'ingest',
      commands.ingest([
        '--brokers',
        brokers.join(','),
        '--redis',
        redisUrl,
        '--region',
        o.region,
        '--metrics-port',
        '0',
        '--max-wait-ms',
        '10',
        '--world-clock',
        o.clockSpec,
        '--log-level',
        o.logLevel ?? 'warn',
      ]),
    );
    await ingester.waitForLine(/ingest started/);
    progress('ingester started');

    const pods: SidecarPod[] = [];
    for (let i = 0; i < o.sidecars; i++) {
      const id = `sidecar-${i + 1}`;
      const tokenFile = join(o.runDir, `${id}.token`);
      writeFileSync(tokenFile, sidecarTokens[i] ?? '', { mode: 0o600 });
      const sc = spawn(
        id,
        commands.sidecar([
          '--region',
          o.region,
          '--http-port',
          '0',
          '--grpc-port',
          '0',
          '--redis',
          redisUrl,
          '--control-plane',
          controlPlane.grpc,
          '--control-url',
          controlPlane.url,
          '--control-token-file',
          tokenFile,
          '--state-dir',
          join(o.runDir, id),
          '--trusted-key',
          join(keys, 'bundle.pub.pem'),
          '--sidecar-id',
          id,
          '--decision-log',
          join(o.runDir, `${id}.decisions.ndjson`),
          '--world-clock',
          o.clockSpec,
          ...(o.policy === 'naive' ? ['--enforce', 'naive'] : []),
          '--log-level',
          o.logLevel ?? 'warn',
        ]),
      );
      const line = await sc.waitForLine(LISTENING_RE);
      const ports = JSON.parse(line.input) as { httpPort: number; grpcPort: number };
      const dp = spawn(
        `data-plane-${i + 1}`,
        commands.dataPlane([
          '--port',
          '0',
          '--upstream',
          `127.0.0.1:${o.orderServicePort}`,
          '--sidecar',
          `127.0.0.1:${ports.httpPort}`,
          '--region',
          o.region,
          '--route',
          '/checkout=enforce',
          '--timeout-ms',
          String(WORLD_FILTER_TIMEOUT_MS),
          '--world-clock',
          o.clockSpec,
        ]),
      );
      const dpLine = await dp.waitForLine(LISTENING_RE);
      const dpPort = (JSON.parse(dpLine.input) as { port: number }).port;
      pods.push({
        id,
        sidecar: sc,
        dataPlane: dp,
        httpPort: ports.httpPort,
        grpcPort: ports.grpcPort,
        dataPlanePort: dpPort,
        metricsUrl: `http://127.0.0.1:${ports.httpPort}/metrics`,
      });
      progress(`${id}: sidecar :${ports.httpPort}, data plane :${dpPort}`);
    }
    return {
      brokers,
      redisUrl,
      redis,
      controlPlane,
      tokens,
      ingester,
      pods,
      modelVersion,
      atpctl,
      batch,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
