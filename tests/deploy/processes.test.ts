/**
 * The CronJobs' containers run to success with their own commands and flags
 * (the directory job on a directory file in its mounted volume, the
 * features job reading the region's topics from librdkafka's mock cluster),
 * and the manifests' long-running containers, started as real processes with
 * their own commands and flags (only addresses, mounted files and Secret
 * values substituted, see manifest-process.ts), answer every probe the
 * manifests declare with 200: the ingester against a real redis-server and
 * librdkafka's mock cluster, the control plane on SQLite with the manifest's
 * signing key and trusted keys, and the checkout pod's sidecar watching that
 * control plane with a viewer token, as in a pod. A probe path the code
 * does not serve fails the check.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import t from 'tap';
import { KafkaEventProducer } from '../../adapters/src/kafka/kafka-event-producer.js';
import { readCurrentVersion } from '../../adapters/src/redis/redis-node-sets.js';
import { createLogger } from '../../platform/src/logger.js';
import { encodeEvent, eventKey } from '../../proto/v1/inventory-event.js';
import { encodeNodeInfo } from '../../proto/v1/node-directory.js';
import { mutationsTopic } from '../../proto/v1/topics.js';
import { ev } from '../helpers/events.js';
import { startKafkaMockCluster } from '../helpers/kafka-mock-cluster.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { seedRedis } from '../helpers/redis-world.js';
import { TINY_NODES } from '../helpers/tiny-world.js';
import { containersOf, localEntry } from './checks.js';
import {
  type ManifestProcess,
  probeProblems,
  runManifestJob,
  startManifestContainer,
} from './manifest-process.js';
import {
  type Doc,
  kustomizeAvailable,
  REPO_ROOT,
  renderKustomization,
  renderWithKustomize,
} from './render.js';

const REGION = 'eu-west';
const render = kustomizeAvailable() ? renderWithKustomize : renderKustomization;
const docs: Doc[] = [
  ...render(join(REPO_ROOT, 'deploy', 'overlays', REGION)),
  ...render(join(REPO_ROOT, 'tests', 'deploy', 'fixtures', 'checkout')),
];
const container = (entry: string) => {
  const k = containersOf(docs).find((x) => (x.c.command as string[]).join(' ').endsWith(entry));
  if (k === undefined) throw new Error(`no container runs ${entry}`);
  return k;
};
const listening = (rec: Record<string, any>) => rec.event === 'listening';
const WATCH_WAIT_MS = 20_000;

/** Open watch streams the control plane reports on its /metrics (null: no such metric). */
async function watcherCount(httpPort: number): Promise<number | null> {
  const text = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text());
  const m = /^atp_control_watchers (\d+)/m.exec(text);
  return m === null ? null : Number(m[1]);
}

/** Waits until the control plane reports at least `n` open watch streams. */
async function watchers(httpPort: number, n: number): Promise<boolean> {
  const deadline = Date.now() + WATCH_WAIT_MS;
  while (Date.now() < deadline) {
    if (((await watcherCount(httpPort)) ?? 0) >= n) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

t.test('every probe of every long-running container answers on the real process', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'atp-deploy-probes-'));
  const redis = await startRedisServer();
  const kafka = await startKafkaMockCluster(1);
  const procs: ManifestProcess[] = [];
  // The processes stop before the servers they use.
  t.teardown(async () => {
    for (const p of procs.reverse()) await p.stop();
    await redis.stop();
    await kafka.stop();
    rmSync(root, { recursive: true, force: true });
  });

  // The files the Secrets and ConfigMaps mount: a snapshot signing key, a bundle signing public key.
  const cpRoot = join(root, 'control-plane');
  const sidecarRoot = join(root, 'sidecar');
  const db = `sqlite:${join(root, 'control-plane.db')}`;
  const signing = generateKeyPairSync('ed25519');
  const bundleKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });

  // Control plane: the Secret's PostgreSQL URL becomes a local SQLite file.
  const cp = container('atp-control-plane serve');
  const cpProc = await startManifestContainer(cp, docs, {
    mountsRoot: cpRoot,
    files: {
      '/etc/atp/signing/signing-key.pem': signing.privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string,
      '/etc/atp/trusted-keys/bundles.pem': bundleKey as string,
    },
    env: { ATP_CONTROL_DB: db },
    flags: { '--host': '127.0.0.1', '--http-port': '0', '--grpc-port': '0' },
    isStarted: listening,
    portFields: { 7070: 'httpPort', 7071: 'grpcPort' },
  });
  procs.push(cpProc);
  t.ok(cpProc.started.httpPort > 0, 'control plane listening');
  t.same(await probeProblems(cp, cpProc), [], 'control plane probes');

  // A viewer token for the checkout pods, made the way deploy/README.md says.
  const [bin, ...rest] = localEntry(['/app/node_modules/.bin/atp-control-plane']);
  const made = spawnSync(
    bin ?? '',
    [...rest, 'token', 'create', '--db', db, '--name', 'checkout', '--role', 'viewer'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  );
  t.equal(made.status, 0, `token create: ${made.stderr}`);

  // The checkout pod's sidecar, watching that control plane (which nobody watches yet).
  t.equal(await watcherCount(cpProc.started.httpPort), 0, 'no watcher before the sidecar starts');
  const sidecar = container('sidecar/src/main.ts serve');
  const sidecarProc = await startManifestContainer(sidecar, docs, {
    mountsRoot: sidecarRoot,
    files: {
      '/etc/atp/control/token': made.stdout.trim(),
      '/etc/atp/trusted-keys/bundles.pem': bundleKey as string,
      '/etc/atp/control-snapshot-key/snapshot.pub.pem': signing.publicKey.export({
        type: 'spki',
        format: 'pem',
      }) as string,
    },
    flags: {
      '--redis': redis.url,
      '--host': '127.0.0.1',
      '--http-port': '0',
      '--grpc-port': '0',
      '--control-plane': `127.0.0.1:${cpProc.started.grpcPort}`,
      '--control-url': `http://127.0.0.1:${cpProc.started.httpPort}`,
    },
    isStarted: listening,
    portFields: { 8090: 'httpPort', 8788: 'grpcPort' },
  });
  procs.push(sidecarProc);
  t.same(await probeProblems(sidecar, sidecarProc), [], 'sidecar probes');
  // Its --control-* flags, token file, trusted keys and state dir work: it holds a watch stream open.
  t.ok(await watchers(cpProc.started.httpPort, 1), 'the sidecar watches the control plane');

  // The ingester against a real Redis and the mock Kafka cluster.
  const ingester = container('ingest/src/main.ts');
  const ingestProc = await startManifestContainer(ingester, docs, {
    mountsRoot: join(root, 'ingester'),
    flags: {
      '--brokers': kafka.brokers.join(','),
      '--redis': redis.url,
      '--metrics-host': '127.0.0.1',
      '--metrics-port': '0',
    },
    isStarted: (rec) => rec.msg === 'ingest started',
    portFields: { 9464: 'metricsPort' },
  });
  procs.push(ingestProc);
  t.same(await probeProblems(ingester, ingestProc), [], 'ingester probes');

  // The check itself: a probe path the code does not serve is reported.
  const broken = structuredClone(sidecar);
  broken.c.readinessProbe.httpGet.path = '/ready';
  t.match((await probeProblems(broken, sidecarProc)).join('\n'), /readinessProbe GET \/ready answered 404/);
});

t.test('the CronJobs run to success with their own commands and flags', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'atp-deploy-jobs-'));
  const redisServer = await startRedisServer();
  const kafka = await startKafkaMockCluster(1);
  const redis = new Redis(redisServer.url);
  t.teardown(async () => {
    redis.disconnect();
    await redisServer.stop();
    await kafka.stop();
    rmSync(root, { recursive: true, force: true });
  });

  // The directory job publishes the file the volume claim holds and moves the region's pointer.
  const directory = container('atp-batch directory');
  const nodes = TINY_NODES.map((n) => encodeNodeInfo({ ...n, region: REGION })).join('\n');
  const dir = runManifestJob(directory, docs, {
    mountsRoot: join(root, 'directory'),
    files: { '/data/directory/nodes.ndjson': `${nodes}\n` },
    flags: { '--redis': redisServer.url },
  });
  t.equal(dir.status, 0, `directory job: ${dir.stderr}`);
  const published = JSON.parse(dir.stdout.trim()) as { version: string; nodes: number };
  t.equal(published.nodes, TINY_NODES.length);
  t.equal(await readCurrentVersion(redis, REGION, 'dir'), published.version, 'the pointer moved');

  // The features job reads the region's topics (--brokers) and publishes a batch set: an hour of
  // history on one node, produced the way feeds do.
  const producer = new KafkaEventProducer({
    brokers: kafka.brokers,
    clientId: 'deploy-test',
    logger: createLogger({ level: 'silent' }),
  });
  await producer.start();
  const now = Date.now();
  const events = Array.from({ length: 20 }, (_, i) =>
    ev(i % 2 === 0 ? 'receipt' : 'reservation', 1, i + 1, {
      sku: `SKU-${i % 4}`,
      atMs: now - 3_600_000 + i * 60_000,
    }),
  );
  await producer.send(
    mutationsTopic(REGION),
    events.map((e) => ({ key: eventKey(e), value: encodeEvent(e) })),
  );
  await producer.stop();
  const features = container('atp-batch features');
  const feat = runManifestJob(features, docs, {
    mountsRoot: join(root, 'features'),
    flags: { '--redis': redisServer.url, '--brokers': kafka.brokers.join(',') },
  });
  t.equal(feat.status, 0, `features job: ${feat.stderr}`);
  t.not(await readCurrentVersion(redis, REGION, 'batch'), null, 'a batch feature set is current');
});

t.test('the escrow budget CronJob runs to success with its own command and flags', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'atp-deploy-escrow-'));
  const origin = await startRedisServer();
  const holder = await startRedisServer();
  t.teardown(async () => {
    await origin.stop();
    await holder.stop();
    rmSync(root, { recursive: true, force: true });
  });
  await seedRedis(origin.url, REGION, [{ sku: 'HOT-1', node: 'WH-1', units: 10 }]);
  const run = runManifestJob(container('atp-batch escrow budget'), docs, {
    mountsRoot: join(root, 'escrow'),
    files: { '/etc/atp/escrow/skus': '# the operators list\nHOT-1\n' },
    flags: { '--origin-redis': origin.url, '--holder-redis': holder.url },
  });
  t.equal(run.status, 0, `escrow job: ${run.stderr}`);
  const line = JSON.parse(run.stdout.trim());
  t.equal(line.holder, 'eu-central', "eu-west's budget is kept in its failover target");
  t.same(line.budget, { 'HOT-1': 2 }, 'the manifest share (0.2) of 10 units');
});
