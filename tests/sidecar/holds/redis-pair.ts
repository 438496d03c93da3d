/**
 * A Redis primary and a replica with real replication, for failover tests:
 * the replica follows the primary through a TCP switch (`link`) that can
 * drop what the primary sends (the replica then misses the last writes).
 * Clients talk to the primary's port directly; on failover the promoted
 * replica takes that port over (CONFIG SET port, Redis 7), as a managed
 * endpoint moves to the new primary. No proxy sits on the clients' path:
 * the tests' few-ms Redis budgets must not pay for one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { Redis } from 'ioredis';
import { freePort, type RedisServerHandle, startRedisServer } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait-for.js';

/** A TCP forwarder whose downstream bytes (target to clients) can be dropped. */
export class TcpSwitch {
  private readonly conns = new Set<Socket>();
  private dropping = false;
  private closed = false;

  private constructor(
    private readonly server: Server,
    private target: number,
    readonly port: number,
  ) {}

  static async start(target: number): Promise<TcpSwitch> {
    const port = await freePort();
    let self: TcpSwitch | null = null;
    const server = createServer((client) => self?.accept(client));
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    self = new TcpSwitch(server, target, port);
    return self;
  }

  /** Bytes from the target to the clients are dropped (true) or forwarded (false). */
  drop(on: boolean): void {
    this.dropping = on;
  }

  async stop(): Promise<void> {
    this.closed = true;
    const closing = new Promise<void>((r) => this.server.close(() => r()));
    for (const c of this.conns) c.destroy();
    await closing;
  }

  private accept(client: Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(this.target, '127.0.0.1');
    this.conns.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!this.dropping) client.write(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.conns.delete(client);
      this.conns.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }
}

export interface RedisPair {
  primary: RedisServerHandle;
  replicaPort: number;
  link: TcpSwitch;
  /** The URL clients use: the primary's port, the promoted replica's after failover(). */
  url: string;
  /** Replication offset the replica has processed. */
  replicaOffset(): Promise<number>;
  primaryOffset(): Promise<number>;
  /** Kills the primary, promotes the replica (REPLICAOF NO ONE) and moves it to the primary's port. */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

/** `direct`: the replica follows the primary without the link switch (benchmarks). */
export async function startRedisPair(opts: { direct?: boolean } = {}): Promise<RedisPair> {
  const primary = await startRedisServer();
  const link = await TcpSwitch.start(primary.port);
  const replicaPort = await freePort();
  const replica: ChildProcess = spawn(
    'redis-server',
    ['--port', String(replicaPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'].concat([
      '--replicaof',
      '127.0.0.1',
      String(opts.direct === true ? primary.port : link.port),
    ]),
    { stdio: 'ignore' },
  );
  const r = new Redis({ port: replicaPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  const p = new Redis({ port: primary.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const offset = async (c: Redis, field: string) => {
    const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(String(await c.info('replication')));
    return Number(m?.[1] ?? -1);
  };
  await waitFor(
    async () => {
      await r.connect().catch(() => undefined);
      return (await r.info('replication').catch(() => '')).includes('master_link_status:up');
    },
    15_000,
    'the replica to sync',
  );
  return {
    primary,
    replicaPort,
    link,
    url: primary.url,
    replicaOffset: () => offset(r, 'slave_repl_offset'),
    primaryOffset: () => offset(p, 'master_repl_offset'),
    async failover() {
      p.disconnect();
      await primary.kill();
      await r.replicaof('NO', 'ONE');
      await r.config('SET', 'port', String(primary.port));
    },
    async stop() {
      p.disconnect();
      r.disconnect();
      await link.stop();
      await primary.stop();
      if (replica.exitCode === null) {
        await new Promise<void>((res) => {
          replica.once('exit', () => res());
          replica.kill('SIGKILL');
        });
      }
    },
  };
}
