/**
 * A real local Redis Cluster for one test file: six `redis-server
 * --cluster-enabled yes` processes on free ports, joined by `redis-cli
 * --cluster create ... --cluster-replicas 1` into three primaries with one
 * replica each (about 3 s). Tests kill a primary (SIGKILL, a crash), wait
 * for its replica to be promoted, and may restart the dead node, which
 * rejoins as a replica of the new primary (its cluster config file stays).
 *
 * Failover is fast on purpose: `cluster-node-timeout` CLUSTER_NODE_TIMEOUT_MS
 * (production default 15 s), so a promotion takes a few seconds. Nothing is
 * persisted but the cluster config: a restarted node resyncs from its primary.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort, redisServerAvailable } from './redis-server.js';

export const CLUSTER_NODE_TIMEOUT_MS = 1_000;
export const CLUSTER_START_TIMEOUT_MS = 30_000;
export const FAILOVER_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

export interface ClusterNode {
  port: number;
  /** Cluster bus port (set explicitly: port + 10000 may not be free or valid). */
  busPort: number;
  readonly running: boolean;
}

export interface RedisClusterHandle {
  nodes: ClusterNode[];
  /** `redis+cluster://127.0.0.1:p1,...` with every node as a seed. */
  url: string;
  /** Ports of the nodes that are primaries now, by their own account (CLUSTER NODES). */
  primaries(): Promise<number[]>;
  /** Port of the primary serving `key` now. */
  primaryOf(key: string): Promise<number>;
  /** SIGKILLs the node on `port` (a crash: nothing flushed, no failover handshake). */
  kill(port: number): Promise<void>;
  /** Starts the node on `port` again with its cluster config: it rejoins (as a replica if it was failed over). */
  restart(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT: a node that stops answering without closing its connections (a stall, a GC pause). */
  pause(port: number): void;
  resume(port: number): void;
  /** Ports of the replicas of the primary on `port`, as the cluster sees them now. */
  replicasOf(port: number): Promise<number[]>;
  /**
   * Waits until a replica of `deadPort` is promoted and the cluster state is
   * ok again on every live node; resolves with the new primary's port.
   */
  waitForFailover(deadPort: number, timeoutMs?: number): Promise<number>;
  /** Waits until every live node reports cluster_state:ok and agrees on the primaries. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function redisClusterAvailable(): boolean {
  return redisServerAvailable() && spawnSync('redis-cli', ['--version']).status === 0;
}

interface NodeProc extends ClusterNode {
  proc: ChildProcess | null;
  dir: string;
}

export async function startRedisCluster(): Promise<RedisClusterHandle> {
  if (!redisClusterAvailable()) {
    throw new Error(
      'redis-server and redis-cli are needed for the cluster tests (apt-get install -y redis-server)',
    );
  }
  const root = mkdtempSync(join(tmpdir(), 'atp-redis-cluster-'));
  const nodes: NodeProc[] = [];
  // Twelve ports drawn one after another: never hand the same one out twice.
  const taken = new Set<number>();
  const uniquePort = async (): Promise<number> => {
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < 6; i++) {
    const port = await uniquePort();
    const busPort = await uniquePort();
    const dir = join(root, String(port));
    mkdirSync(dir);
    nodes.push({
      port,
      busPort,
      dir,
      proc: null,
      get running() {
        return this.proc !== null;
      },
    });
  }
  const byPort = new Map(nodes.map((n) => [n.port, n]));
  const launch = async (n: NodeProc) => {
    n.proc = spawn(
      'redis-server',
      [
        '--port',
        String(n.port),
        '--cluster-port',
        String(n.busPort),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(n.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(CLUSTER_NODE_TIMEOUT_MS),
        '--dir',
        n.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        // A replica that never finished its first sync cannot be promoted; do not wait 5 s to start it.
        '--repl-diskless-sync-delay',
        '0',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitForPing(n.port, n.proc);
  };
  /** First slot each killed primary served, so waitForFailover knows whose promotion to wait for. */
  const servedSlot = new Map<number, number>();
  const kill = async (port: number) => {
    const n = byPort.get(port);
    const p = n?.proc ?? null;
    if (n === undefined || p === null) return;
    const view = await nodesOf(port);
    const self = view?.find((l) => l.port === port);
    const first = self?.ranges[0];
    if (first !== undefined) servedSlot.set(port, first[0]);
    n.proc = null;
    if (p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  const stop = async () => {
    for (const n of nodes) await kill(n.port);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // A port another process took between the draw and the bind: draw again, at most twice per node.
    const launchFresh = async (n: NodeProc) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await launch(n);
        } catch (err) {
          const exited = n.proc !== null && (n.proc.exitCode !== null || n.proc.signalCode !== null);
          if (!exited || attempt >= 2) throw err;
          n.port = await uniquePort();
          n.busPort = await uniquePort();
        }
      }
    };
    await Promise.all(nodes.map(launchFresh));
    byPort.clear();
    for (const n of nodes) byPort.set(n.port, n);
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: CLUSTER_START_TIMEOUT_MS },
    );
    if (create.status !== 0) {
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const live = () => nodes.filter((n) => n.proc !== null);
  const primaries = async (): Promise<number[]> => {
    const seen = new Set<number>();
    for (const n of live()) {
      for (const line of (await nodesOf(n.port)) ?? []) {
        if (line.flags.includes('master') && !line.flags.includes('fail') && line.slots > 0)
          seen.add(line.port);
      }
      if (seen.size > 0) break;
    }
    return [...seen].sort((a, b) => a - b);
  };
  const waitHealthy = async (timeoutMs = CLUSTER_START_TIMEOUT_MS) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = await Promise.all(live().map((n) => clusterState(n.port)));
      // A replica whose link to its primary is down could not take over: healthy means synced too.
      const links = await Promise.all(live().map((n) => replicaLinkUp(n.port)));
      if (states.every((s) => s === 'ok') && links.every((up) => up)) return;
      if (Date.now() > deadline) {
        throw new Error(`the cluster did not reach state ok with replicas in sync within ${timeoutMs} ms`);
      }
      await sleep(POLL_MS);
    }
  };
  await waitHealthy().catch(async (err) => {
    await stop();
    throw err;
  });
  return {
    nodes,
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    primaries,
    primaryOf: async (key) => {
      for (const n of live()) {
        const slot = await withClient(n.port, (c) => c.cluster('KEYSLOT', key)).catch(() => null);
        if (typeof slot !== 'number') continue;
        const owner = await primaryServing(live(), slot);
        if (owner !== null) return owner;
      }
      throw new Error(`no live primary serves ${key}`);
    },
    kill,
    restart: async (port) => {
      const n = byPort.get(port);
      if (n === undefined) throw new Error(`no cluster node on ${port}`);
      if (n.proc === null) await launch(n);
    },
    waitForFailover: async (deadPort, timeoutMs = FAILOVER_TIMEOUT_MS) => {
      const slot = servedSlot.get(deadPort);
      if (slot === undefined) throw new Error(`${deadPort} was not a killed primary`);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(live().map((n) => clusterState(n.port)));
        if (states.every((s) => s === 'ok')) {
          const owner = await primaryServing(live(), slot);
          if (owner !== null && owner !== deadPort) return owner;
        }
        if (Date.now() > deadline)
          throw new Error(`no replica of ${deadPort} was promoted within ${timeoutMs} ms`);
        await sleep(POLL_MS);
      }
    },
    pause: (port) => {
      byPort.get(port)?.proc?.kill('SIGSTOP');
    },
    resume: (port) => {
      byPort.get(port)?.proc?.kill('SIGCONT');
    },
    replicasOf: async (port) => {
      for (const n of live()) {
        const view = await nodesOf(n.port);
        const primary = view?.find((l) => l.port === port);
        if (view === null || view === undefined || primary === undefined) continue;
        return view.filter((l) => l.masterId === primary.id && !l.flags.includes('fail')).map((l) => l.port);
      }
      return [];
    },
    waitHealthy,
    stop,
  };
}

/** The live primary serving `slot` as the first node that answers sees it; null when none does. */
async function primaryServing(live: readonly ClusterNode[], slot: number): Promise<number | null> {
  for (const n of live) {
    const view = await nodesOf(n.port);
    if (view === null) continue;
    const owner = view.find(
      (l) =>
        l.flags.includes('master') &&
        !l.flags.includes('fail') &&
        l.ranges.some(([a, b]) => slot >= a && slot <= b),
    );
    return owner?.port ?? null;
  }
  return null;
}

interface NodeLine {
  id: string;
  /** Node id of its primary ('-' for a primary). */
  masterId: string;
  port: number;
  flags: string[];
  slots: number;
  ranges: [number, number][];
}

/** CLUSTER NODES as one node sees it (null when that node does not answer). */
async function nodesOf(port: number): Promise<NodeLine[] | null> {
  const text = await withClient(port, (c) => c.cluster('NODES')).catch(() => null);
  if (typeof text !== 'string') return null;
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.split(' ');
      const addr = f[1] ?? '';
      const ranges: [number, number][] = [];
      for (const r of f.slice(8)) {
        if (r.startsWith('[')) continue;
        const [a, b] = r.split('-').map(Number) as [number, number | undefined];
        ranges.push([a, b ?? a]);
      }
      return {
        id: f[0] ?? '',
        masterId: f[3] ?? '-',
        port: Number(addr.slice(addr.lastIndexOf(':') + 1).split('@')[0]),
        flags: (f[2] ?? '').split(','),
        slots: ranges.reduce((s, [a, b]) => s + b - a + 1, 0),
        ranges,
      };
    });
}

/** True for a primary, and for a replica whose replication link is up. */
async function replicaLinkUp(port: number): Promise<boolean> {
  const info = await withClient(port, (c) => c.info('replication')).catch(() => '');
  if (/role:master/.test(info)) return true;
  return /master_link_status:up/.test(info);
}

async function clusterState(port: number): Promise<string> {
  const info = await withClient(port, (c) => c.cluster('INFO')).catch(() => '');
  const m = /cluster_state:(\w+)/.exec(typeof info === 'string' ? info : '');
  return m?.[1] ?? 'unreachable';
}

async function withClient<T>(port: number, run: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 500,
    commandTimeout: 1_000,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await run(c);
  } finally {
    c.disconnect();
  }
}

async function waitForPing(port: number, proc: ChildProcess | null): Promise<void> {
  const deadline = Date.now() + CLUSTER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc !== null && (proc.exitCode !== null || proc.signalCode !== null)) {
      // Fail at once, not after the whole timeout: most often another process took the port meanwhile.
      throw new Error(
        `redis-server on ${port} exited (${proc.exitCode ?? proc.signalCode}) before answering PING`,
      );
    }
    if ((await withClient(port, (c) => c.ping()).catch(() => null)) === 'PONG') return;
    await sleep(50);
  }
  throw new Error(`redis-server on ${port} did not answer PING within ${CLUSTER_START_TIMEOUT_MS} ms`);
}
