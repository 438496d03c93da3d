/**
 * The services of a closed-loop world that run on its clock (`--world-clock`
 * <simEpochMs>@<wallEpochMs>x<speed>): the ingester (Kafka -> Redis) and N
 * sidecar pods, each a sidecar (watching the control plane, reading the
 * region's Redis) with one data plane (the compiled filter in the emulator)
 * in front of the world's order service. Ports are fixed at start and kept
 * across restarts (a scenario restarts a sidecar; its data plane still
 * finds it).
 */
import { join } from 'node:path';
import { commands } from './commands.js';
import { freePort } from './free-port.js';
import type { ManagedProcess } from './managed-process.js';
import { LISTENING_RE, type WorldInfra } from './world-stack.js';

/** Sidecars answer the filter within its budget; a world on a loaded machine gets a little more. */
export const WORLD_FILTER_TIMEOUT_MS = 60;
export const INGEST_STARTED_RE = /ingest started/;

/**
 * Who decides: the promoted model, naive ATP (`serve --enforce naive`), or
 * both in one world as a 50/50 experiment by session key (ab-experiment.ts).
 */
export type WorldPolicy = 'model' | 'naive' | 'ab';
export const WORLD_POLICIES: readonly WorldPolicy[] = ['model', 'naive', 'ab'];

export interface WorldServicesOptions {
  clockSpec: string;
  sidecars: number;
  policy: WorldPolicy;
  /** Port of the world's order service (the upstream behind every data plane). */
  orderServicePort: number;
  /** The filter's sidecar call budget (wall ms; default WORLD_FILTER_TIMEOUT_MS). */
  filterTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

export interface SidecarPod {
  id: string;
  sidecar: ManagedProcess;
  dataPlane: ManagedProcess;
  httpPort: number;
  grpcPort: number;
  dataPlanePort: number;
  /** Restarts the sidecar with some flags' values replaced (none: as it started); resolves once it listens. */
  restartSidecar(overrides?: Record<string, string>): Promise<void>;
}

export interface WorldServices {
  ingester: ManagedProcess;
  ingestMetricsUrl: string;
  pods: SidecarPod[];
  /** The data planes' base URLs, pod order. */
  endpoints(): string[];
}

export async function startWorldServices(infra: WorldInfra, o: WorldServicesOptions): Promise<WorldServices> {
  const progress = o.onProgress ?? (() => undefined);
  const ingestMetricsPort = await freePort();
  const ingester = spawnIngester(infra, 'ingest', o.clockSpec, ingestMetricsPort);
  const ingesterReady = ingester.waitForLine(INGEST_STARTED_RE).then(() => progress('ingester started'));
  // Everything starts together: the live phase waits for the slowest, not for the sum.
  const [, pods] = await Promise.all([
    ingesterReady,
    Promise.all(
      Array.from({ length: o.sidecars }, (_, i) =>
        startPod(infra, o, i).then((pod) => {
          progress(`${pod.id}: sidecar :${pod.httpPort}, data plane :${pod.dataPlanePort}`);
          return pod;
        }),
      ),
    ),
  ]);
  return {
    ingester,
    ingestMetricsUrl: `http://127.0.0.1:${ingestMetricsPort}/metrics`,
    pods,
    endpoints: () => pods.map((p) => `http://127.0.0.1:${p.dataPlanePort}`),
  };
}

/** `args` with the value after each flag of `overrides` replaced (flags not present are appended). */
export function withFlags(args: readonly string[], overrides: Record<string, string>): string[] {
  const out = [...args];
  for (const [flag, value] of Object.entries(overrides)) {
    const at = out.indexOf(flag);
    if (at >= 0 && at + 1 < out.length) out[at + 1] = value;
    else out.push(flag, value);
  }
  return out;
}

async function startPod(infra: WorldInfra, o: WorldServicesOptions, i: number): Promise<SidecarPod> {
  const id = `sidecar-${i + 1}`;
  const httpPort = await freePort();
  const grpcPort = await freePort();
  const dataPlanePort = await freePort();
  const sidecarArgs = [
    '--region',
    infra.region,
    '--http-port',
    String(httpPort),
    '--grpc-port',
    String(grpcPort),
    '--redis',
    infra.redis.url,
    '--control-plane',
    infra.controlPlane.grpc,
    '--control-url',
    infra.controlPlane.url,
    '--control-token-file',
    infra.sidecarTokenFiles[i] ?? '',
    '--control-snapshot-key',
    infra.snapshotKey,
    '--state-dir',
    join(infra.runDir, id),
    '--trusted-key',
    infra.trustedKey,
    // The control plane's snapshot public key, written into its --state-dir when it started.
    '--control-snapshot-key',
    join(infra.runDir, 'control-plane', 'snapshot-signing.pub.pem'),
    '--sidecar-id',
    id,
    '--decision-log',
    join(infra.runDir, `${id}.decisions.ndjson`),
    // The outcome join (atp-evaluate, outcome-join.ts) reads the decisions from the world's Kafka.
    '--decision-stream',
    `kafka://${infra.brokers.join(',')}`,
    '--world-clock',
    o.clockSpec,
    ...(o.policy === 'naive' ? ['--enforce', 'naive'] : []),
    '--log-level',
    infra.logLevel,
  ];
  const sidecar = infra.spawn(id, commands.sidecar(sidecarArgs));
  const dataPlane = infra.spawn(
    `data-plane-${i + 1}`,
    commands.dataPlane([
      '--port',
      String(dataPlanePort),
      '--upstream',
      `127.0.0.1:${o.orderServicePort}`,
      '--sidecar',
      `127.0.0.1:${httpPort}`,
      '--region',
      infra.region,
      '--route',
      '/checkout=enforce',
      '--timeout-ms',
      String(o.filterTimeoutMs ?? WORLD_FILTER_TIMEOUT_MS),
      '--world-clock',
      o.clockSpec,
      '--log-level',
      infra.logLevel,
    ]),
  );
  // The filter polls its sidecar on its tick: the two may come up in either order.
  await Promise.all([sidecar.waitForLine(LISTENING_RE), dataPlane.waitForLine(LISTENING_RE)]);
  return {
    id,
    sidecar,
    dataPlane,
    httpPort,
    grpcPort,
    dataPlanePort,
    async restartSidecar(overrides = {}) {
      await sidecar.stop();
      sidecar.spec.args = commands.sidecar(withFlags(sidecarArgs, overrides)).args;
      sidecar.start();
      await sidecar.waitForLine(LISTENING_RE);
    },
  };
}

/**
 * Starts an ingester of the world's region (consumer group atp-ingest-<region>):
 * on the world clock, or on the wall clock (clockSpec null) for the warm-up,
 * whose events must be consumed while Kafka still holds them (the mock
 * cluster keeps only a partition's newest ~5 MB).
 */
export function spawnIngester(
  infra: WorldInfra,
  name: string,
  clockSpec: string | null,
  metricsPort: number,
): ManagedProcess {
  return infra.spawn(
    name,
    commands.ingest([
      '--brokers',
      infra.brokers.join(','),
      '--redis',
      infra.redis.url,
      '--region',
      infra.region,
      '--metrics-port',
      String(metricsPort),
      '--max-wait-ms',
      '10',
      '--commit-interval-ms',
      '200',
      ...(clockSpec === null ? [] : ['--world-clock', clockSpec]),
      '--log-level',
      'info',
    ]),
  );
}
