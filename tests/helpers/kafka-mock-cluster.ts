/**
 * A real Kafka-protocol broker for tests: librdkafka's mock cluster, started
 * through Debian's `kcat` (`-X test.mock.num.brokers=N`). kcat prints the
 * bootstrap list on stderr and serves until it is killed.
 *
 * Facts about the mock the tests rely on (librdkafka 2.0.2):
 * - topics auto-create with 4 partitions on first metadata request; kcat
 *   offers no way to change that (librdkafka 2.0.2 knows only
 *   `test.mock.num.brokers` and `test.mock.broker.rtt`, and the mock serves
 *   no CreateTopics / CreatePartitions request). For more partitions,
 *   `startKafkaMockClusterWithTopics` drives the same librdkafka mock through
 *   its C API (`rd_kafka_mock_topic_create`, via python3's ctypes, no extra
 *   package) and creates topics of any partition count on demand;
 * - each partition keeps roughly the newest 5 MB (older segments are
 *   dropped), so a test should keep well under ~20K events per partition;
 * - the group coordinator waits about 3 s before completing a first join;
 * - a restarted mock is a new, empty cluster on new ports.
 *
 * Network faults: the mock advertises its own ports in metadata, so a proxy
 * on the bootstrap address alone would be bypassed after the first metadata
 * call. `createBrokerLink` therefore starts one TcpProxy per broker and gives
 * the client a socket factory that dials the proxy of whichever broker it
 * asks for; `cut()` then resets every live connection and refuses new ones,
 * which the client sees exactly as brokers going away (ECONNRESET /
 * connection closed), while the cluster keeps its data and committed offsets.
 * A connection whose shutdown already began is closed instead of reset (see
 * cutSocket): resetting it leaks its TCP handle and hangs the process at exit.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

export const KAFKA_MOCK_START_TIMEOUT_MS = 10_000;
export const KAFKA_MOCK_STOP_GRACE_MS = 2_000;
/** The mock's group coordinator delays the first rebalance of a group by about this much. */
export const KAFKA_MOCK_JOIN_DELAY_MS = 3_000;
const KEEP_ALIVE_DELAY_MS = 60_000;

export const KCAT_MISSING_MESSAGE =
  "kcat is not installed: apt-get install -y kcat (it carries librdkafka's mock Kafka cluster the tests use)";

export interface KafkaMockCluster {
  /** `host:port` of every broker, as the mock advertises them. */
  brokers: string[];
  /** SIGTERM, then SIGKILL after KAFKA_MOCK_STOP_GRACE_MS. */
  stop(): Promise<void>;
}

/** A mock cluster that can also create topics with a chosen partition count. */
export interface ControllableKafkaMock extends KafkaMockCluster {
  /** Creates `topic` with `partitions` partitions (replicated on every broker, up to 3). */
  createTopic(topic: string, partitions: number): Promise<void>;
}

/**
 * The mock cluster of librdkafka (the library kcat links), created through
 * its C API by a python3 ctypes driver: the same broker the other tests use,
 * plus topics of any partition count (auto-created topics still get 4).
 * The driver reads `<topic> <partitions>` lines on stdin and answers
 * `created <topic> <error code>`.
 */
const MOCK_DRIVER_PY = `
import ctypes, sys
lib = ctypes.CDLL('librdkafka.so.1')
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_conf_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_handle_mock_cluster.restype = ctypes.c_void_p
lib.rd_kafka_handle_mock_cluster.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
err = ctypes.create_string_buffer(512)
conf = lib.rd_kafka_conf_new()
lib.rd_kafka_conf_set(conf, b'test.mock.num.brokers', sys.argv[1].encode(), err, 512)
lib.rd_kafka_conf_set(conf, b'log_level', b'3', err, 512)
rk = lib.rd_kafka_new(0, conf, err, 512)
mc = lib.rd_kafka_handle_mock_cluster(rk)
print('bootstrap ' + lib.rd_kafka_mock_cluster_bootstraps(mc).decode(), flush=True)
for line in sys.stdin:
    parts = line.split()
    if len(parts) != 2:
        continue
    code = lib.rd_kafka_mock_topic_create(mc, parts[0].encode(), int(parts[1]), min(3, int(sys.argv[1])))
    print('created %s %d' % (parts[0], code), flush=True)
`;

export function python3Available(): boolean {
  return spawnSync('python3', ['-c', 'import ctypes; ctypes.CDLL("librdkafka.so.1")']).status === 0;
}

export async function startKafkaMockClusterWithTopics(brokerCount = 3): Promise<ControllableKafkaMock> {
  if (!kcatAvailable()) throw new Error(KCAT_MISSING_MESSAGE);
  if (!python3Available()) {
    throw new Error('python3 (with ctypes) is needed to create mock topics of more than 4 partitions');
  }
  const proc = spawn('python3', ['-c', MOCK_DRIVER_PY, String(brokerCount)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdin = proc.stdin;
  const stdout = proc.stdout;
  if (stdin === null || stdout === null) throw new Error('mock driver spawned without pipes');
  proc.stderr?.resume();
  const waiting = new Map<string, (code: number) => void>();
  let onBootstrap: ((brokers: string[]) => void) | null = null;
  createInterface({ input: stdout }).on('line', (line) => {
    const [word, a, b] = line.split(' ');
    if (word === 'bootstrap' && a !== undefined) onBootstrap?.(a.split(','));
    if (word === 'created' && a !== undefined) waiting.get(a)?.(Number(b));
  });
  const brokers = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the mock driver printed no bootstrap list within ${KAFKA_MOCK_START_TIMEOUT_MS} ms`));
    }, KAFKA_MOCK_START_TIMEOUT_MS);
    onBootstrap = (list) => {
      clearTimeout(timer);
      resolve(list);
    };
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the mock driver exited (${code}) before the cluster came up`));
    });
  });
  proc.removeAllListeners('exit');
  return {
    brokers,
    stop: () => stopProcess(proc),
    createTopic: (topic, partitions) =>
      new Promise<void>((resolve, reject) => {
        waiting.set(topic, (code) => {
          waiting.delete(topic);
          if (code === 0) resolve();
          else reject(new Error(`rd_kafka_mock_topic_create(${topic}, ${partitions}) failed: ${code}`));
        });
        stdin.write(`${topic} ${partitions}\n`);
      }),
  };
}

export function kcatAvailable(): boolean {
  return spawnSync('kcat', ['-V']).status === 0;
}

export async function startKafkaMockCluster(brokerCount = 3): Promise<KafkaMockCluster> {
  if (!kcatAvailable()) throw new Error(KCAT_MISSING_MESSAGE);
  // kcat needs something to do while it serves: consume a topic nobody writes.
  const proc = spawn(
    'kcat',
    ['-b', 'localhost:1', '-X', `test.mock.num.brokers=${brokerCount}`, '-q', '-C', '-t', '__mock_keepalive'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const brokers = await new Promise<string[]>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(
        new Error(`kcat mock cluster printed no bootstrap list within ${KAFKA_MOCK_START_TIMEOUT_MS} ms`),
      );
    }, KAFKA_MOCK_START_TIMEOUT_MS);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kcat exited (${code}) before the mock cluster came up: ${text.slice(0, 500)}`));
    });
    proc.stderr!.on('data', (chunk: Buffer) => {
      if (text.length > 10_000) return;
      text += chunk.toString();
      // "... replaced with 127.0.0.1:P1,127.0.0.1:P2,..." (or "bootstrap.servers=..." with debug=mock).
      const m = /(?:replaced with|bootstrap\.servers=)\s*(\S+)/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve(m[1]!.split(','));
      }
    });
  });
  // Keep draining stderr so kcat never blocks on a full pipe.
  proc.stderr!.resume();
  return { brokers, stop: () => stopProcess(proc) };
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), KAFKA_MOCK_STOP_GRACE_MS);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/** A TCP forwarder that can drop every connection and refuse new ones until restored. */
export class TcpProxy {
  private readonly server: Server;
  private readonly live = new Set<Socket>();
  private isCut = false;
  port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const p = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      p.server.once('error', reject);
      p.server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = p.server.address();
    p.port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    return p;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Resets every open connection; new ones are reset at once until restore(). */
  cut(): void {
    this.isCut = true;
    for (const s of this.live) cutSocket(s);
    this.live.clear();
  }

  restore(): void {
    this.isCut = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.isCut) {
      cutSocket(client);
      return;
    }
    const upstream = connect({ host: this.targetHost, port: this.targetPort });
    this.live.add(client);
    this.live.add(upstream);
    const drop = () => {
      this.live.delete(client);
      this.live.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/**
 * Drops `s` as a network failure would: a TCP reset. Not once its shutdown
 * has begun (end() was called, as pipe() does when the other side of the
 * proxy ends): on Node 20 (libuv 1.46) uv_tcp_close_reset() then fails with
 * EINVAL, node's TCPWrap counts itself closing although it never closed the
 * handle, and when the process exits Environment::CleanupHandles waits for
 * that handle forever, spinning in uv_run (the test process that passed
 * everything and then burned CPU until tap's timeout). Such a socket is
 * destroyed instead: its FIN is already on the way, and the peer's next
 * write is answered with a reset by the kernel anyway.
 */
export function cutSocket(s: Socket): void {
  if (s.writableEnded) s.destroy();
  else s.resetAndDestroy();
}

/** What kafkajs calls to open a broker connection (its ISocketFactory shape, plain TCP). */
export type SocketFactory = (args: { host: string; port: number; onConnect: () => void }) => Socket;

export interface BrokerLink {
  /** Bootstrap list pointing at the proxies. */
  brokers: string[];
  /** Give this to the Kafka client: it routes every broker address through its proxy. */
  socketFactory: SocketFactory;
  cut(): void;
  restore(): void;
  stop(): Promise<void>;
}

/** One cuttable proxy per broker of `cluster`. */
export async function createBrokerLink(cluster: KafkaMockCluster): Promise<BrokerLink> {
  const proxies = new Map<string, TcpProxy>();
  for (const b of cluster.brokers) {
    const [host, port] = splitHostPort(b);
    proxies.set(`${host}:${port}`, await TcpProxy.start(host, port));
  }
  const byProxyPort = new Map<number, TcpProxy>([...proxies.values()].map((p) => [p.port, p]));
  const socketFactory: SocketFactory = ({ host, port, onConnect }) => {
    // Advertised broker address -> its proxy; a proxy address (bootstrap) stays as is.
    const proxy = proxies.get(`${host}:${port}`) ?? byProxyPort.get(port);
    const socket = connect({ host: '127.0.0.1', port: proxy?.port ?? port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
    return socket;
  };
  return {
    brokers: [...proxies.values()].map((p) => p.address),
    socketFactory,
    cut: () => {
      for (const p of proxies.values()) p.cut();
    },
    restore: () => {
      for (const p of proxies.values()) p.restore();
    },
    stop: async () => {
      await Promise.all([...proxies.values()].map((p) => p.stop()));
    },
  };
}

function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  return [addr.slice(0, i), Number(addr.slice(i + 1))];
}
