/**
 * Issue 15 acceptance, canary residency test. Three regions (eu-west,
 * eu-central, us-east), each with its own real redis-server, its own topics
 * on the kcat mock Kafka broker and its own sidecar process, all following
 * one control plane whose registry names each region's Redis.
 *
 * Step 1: canaries (buyer key, session cookie, address, request ids, order
 * ids) are planted in eu-west's user-level data: request headers and
 * payloads of its checkouts (HTTP and gRPC), the order outcomes of its
 * decisions (with buyer ids and addresses), its federated training rows;
 * and the same canary request is misrouted to the other regions' sidecars.
 * Step 2: traffic runs in all regions; eu-west's outcome join runs in-region
 * and writes its report. Step 3: every artifact that crosses a border is
 * scanned: other regions' topics, the other regions' decision logs, every
 * process's /metrics (and the drift and filter-snapshot answers), the
 * control plane's snapshot and metrics, the outcome report, model bundles,
 * the federated training aggregates and the federated model: zero hits.
 * Step 4: the scanner finds canaries where they legitimately are (eu-west's
 * own outcome topic and decision log), and finds one planted on purpose on
 * another region's topic, so the test can fail.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import { KafkaEventProducer } from '../../../adapters/src/kafka/kafka-event-producer.js';
import { silentLogger } from '../../../platform/src/logger.js';
import { encodeEvent, eventKey } from '../../../proto/v1/inventory-event.js';
import { outcomeToWire } from '../../../proto/v1/order-outcome.js';
import { regionOfTopic } from '../../../proto/v1/residency.js';
import { decisionsTopic, mutationsTopic, outcomesTopic } from '../../../proto/v1/topics.js';
import { loadAtpPackage } from '../../../sidecar/src/adapters/grpc/grpc-server.js';
import { startControlWorld, TOKENS, tempDir } from '../../control-plane/helpers/control-world.js';
import { ev } from '../../helpers/events.js';
import { REPO_ROOT } from '../../helpers/fixtures.js';
import { kcatAvailable, startKafkaMockCluster } from '../../helpers/kafka-mock-cluster.js';
import { redisServerAvailable, startRedisServer } from '../../helpers/redis-server.js';
import { heartbeat, seedRedis } from '../../helpers/redis-world.js';
import { startSidecarProcesses } from '../../helpers/sidecar-process.js';
import { TINY_NODES } from '../../helpers/tiny-world.js';
import { waitFor } from '../../helpers/wait-for.js';
import { type IngestProcess, scrapeMetric, spawnIngestCli } from '../../ingest/ingest-process.js';
import { filesUnder, kcatTopic, kcatTopics } from './artifact-sources.js';
import { type Artifact, scanArtifacts } from './canary-scanner.js';
import { federatedRun } from './federated-run.js';

const REGIONS = ['eu-west', 'eu-central', 'us-east'] as const;
const HOME = 'eu-west';
const CHECKOUTS_PER_REGION = 40;
const GRPC_CHECKOUTS = 10;
const HEARTBEAT_EVERY_MS = 1_000;
/** Ingesters join their groups (about 3 s on the mock) and apply their events; generous on a loaded 2-core box. */
const STOCK_VISIBLE_TIMEOUT_MS = 60_000;

const tag = randomBytes(5).toString('hex');
/** Unique per run, so an old artifact cannot make a hit (nor hide one). */
const CANARY = {
  buyer: `cnryBuyer${tag}`,
  session: `cnrySession${tag}`,
  address: `Cnrystrasse ${tag} 7`,
  request: `cnryReq${tag}`,
  order: `cnryOrder${tag}`,
};
const CANARIES = Object.values(CANARY);

const skip = !redisServerAvailable() || !kcatAvailable() ? 'redis-server and kcat are needed' : false;

t.test('canaries planted in eu-west never show up in anything that crosses a border', { skip }, async (t) => {
  const dir = tempDir(t, 'atp-canary-');
  // Step 0: one broker, a Redis per region, one control plane whose registry names each region's Redis.
  const kafka = await startKafkaMockCluster(1);
  t.teardown(() => kafka.stop());
  const redis = Object.fromEntries(
    await Promise.all(REGIONS.map(async (r) => [r, await startRedisServer()] as const)),
  );
  t.teardown(() => Promise.all(Object.values(redis).map((s) => s.stop())));
  // What the sidecars read: directory, stock and heartbeats in each region's Redis (db 0).
  for (const r of REGIONS) {
    await seedRedis(redis[r]!.url, r, [{ sku: 'IN-STOCK', node: 'ST-1', units: 100_000 }]);
  }
  const regions = {
    regions: REGIONS.map((name) => ({
      name,
      residency: name.startsWith('eu') ? 'eu-gdpr' : 'us',
      redis_url: redis[name]!.url,
      flows: REGIONS.filter((o) => o !== name).map((to) => ({
        to,
        kinds: ['metrics', 'model-bundle', 'node-aggregate', 'training-histogram'],
      })),
    })),
  };
  const regionsFile = join(dir, 'regions.json');
  writeFileSync(regionsFile, JSON.stringify(regions));
  const w = await startControlWorld(t, { regions, regionsSource: 'canary test' });
  const tokenFile = join(dir, 'viewer.token');
  writeFileSync(tokenFile, TOKENS.viewer);
  const trustedKey = join(dir, 'bundles.pub.pem');
  writeFileSync(trustedKey, w.keys.publicPem);
  const snapshotKey = join(dir, 'snapshot.pub.pem');
  writeFileSync(snapshotKey, w.snapshotKey.export({ type: 'spki', format: 'pem' }) as string);

  // An ingester per region (the CLI, validating against the same registry) on the region's own topic.
  const producer = new KafkaEventProducer({
    brokers: kafka.brokers,
    clientId: 'canary',
    logger: silentLogger(),
  });
  await producer.start();
  const feed = (r: string, events: ReturnType<typeof ev>[]) =>
    producer.send(
      mutationsTopic(r),
      events.map((e) => ({ key: eventKey(e), value: encodeEvent(e) })),
    );
  for (const r of REGIONS) {
    await feed(r, [ev('receipt', 500, 1, { sku: 'RESTOCK-1', node: 'ST-1', atMs: Date.now() - 1_000 })]);
  }
  let beat = 1;
  const heartbeats = setInterval(() => {
    beat++;
    for (const r of REGIONS) {
      void feed(
        r,
        TINY_NODES.map((n) => ev('heartbeat', 0, beat, { node: n.nodeId, atMs: Date.now() })),
      ).catch(() => undefined);
      void heartbeat(redis[r]!.url, r).catch(() => undefined);
    }
  }, HEARTBEAT_EVERY_MS);
  t.teardown(() => clearInterval(heartbeats));
  const ingesters: IngestProcess[] = [];
  t.teardown(() => Promise.all(ingesters.map((i) => i.kill())));
  // One at a time: three tsx compiles at once on a loaded 2-core box can outlast the CLI's start bound.
  for (const r of REGIONS) {
    ingesters.push(
      await spawnIngestCli({
        brokers: kafka.brokers,
        // The region's Redis, logical db 1: an ingester opens a store epoch whose refill did not
        // complete on the mock broker here (state stayed `refilling`), which would stop the
        // sidecars' holds; the residency question is the same for either db.
        redisUrl: `${redis[r]!.url}/1`,
        region: r,
        extra: ['--regions-file', regionsFile],
      }),
    );
  }
  for (const ing of ingesters) {
    await waitFor(
      async () => (await scrapeMetric(ing.metricsPort, 'atp_ingest_events_total')) >= 1,
      STOCK_VISIBLE_TIMEOUT_MS,
      'the ingester to apply its events',
      250,
    );
  }

  // Step 0b: a sidecar process per region, on its own Redis, streaming decisions to its own topic.
  for (const r of REGIONS) mkdirSync(join(dir, r), { recursive: true });
  const started = await startSidecarProcesses(
    REGIONS.map((r) => [
      '--region',
      r,
      '--regions-file',
      regionsFile,
      '--redis',
      redis[r]!.url,
      '--rules-only',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--decision-stream',
      `kafka://${kafka.brokers.join(',')}`,
      '--decision-log',
      join(dir, r, 'decisions.ndjson'),
      '--control-plane',
      w.grpc,
      '--control-url',
      w.url,
      '--control-token-file',
      tokenFile,
      '--state-dir',
      join(dir, r, 'state'),
      '--trusted-key',
      trustedKey,
      '--control-snapshot-key',
      snapshotKey,
      '--sidecar-id',
      `canary-${r}`,
      '--log-level',
      'info',
    ]),
  );
  const sidecars = Object.fromEntries(REGIONS.map((r, i) => [r, started[i]!] as const));
  let running = true;
  const stopAll = () => Promise.all([...started.map((s) => s.stop()), ...ingesters.map((i) => i.kill())]);
  t.teardown(() => (running ? stopAll() : undefined));

  // Step 1: traffic in every region; eu-west's carries the canaries in headers and payloads.
  const post = async (r: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await fetch(`http://127.0.0.1:${sidecars[r]!.httpPort}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  const checkout = (r: string, id: string, extra: Record<string, unknown> = {}) => ({
    request_id: id,
    region: r,
    buyer_zone: 'Z1-1',
    channel: 'checkout',
    items: [{ sku: 'IN-STOCK', qty: 1 }],
    ...extra,
  });
  const canaryExtra = { buyer_id: CANARY.buyer, shipping_address: CANARY.address, session: CANARY.session };
  const canaryHeaders = {
    'x-atp-buyer-key': CANARY.buyer,
    cookie: `session=${CANARY.session}`,
    'x-shipping-address': CANARY.address,
  };
  const answers: Record<string, Record<string, any>[]> = Object.fromEntries(REGIONS.map((r) => [r, []]));
  const homeAnswers = answers[HOME]!;
  for (const r of REGIONS) {
    let last: Record<string, any> = {};
    await waitFor(
      async () => {
        last = (await post(r, checkout(r, `probe-${r}`))).json;
        return last.decision === 'allow';
      },
      STOCK_VISIBLE_TIMEOUT_MS,
      `${r}'s ingested stock to be promised`,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer ${JSON.stringify(last).slice(0, 600)}`);
    });
  }
  for (let i = 0; i < CHECKOUTS_PER_REGION; i++) {
    for (const r of REGIONS) {
      const home = r === HOME;
      const res = await post(
        r,
        checkout(r, home ? `${CANARY.request}-${i}` : `req-${r}-${i}`, home ? canaryExtra : {}),
        home ? canaryHeaders : {},
      );
      t.equal(res.status, 200, `${r} answers`);
      answers[r]!.push(res.json);
    }
  }
  t.ok(
    homeAnswers.filter((a) => a.decision === 'allow').length >= CHECKOUTS_PER_REGION / 2,
    'eu-west promised from its own Redis',
  );
  const pkg = loadAtpPackage() as any;
  const client = new pkg.mercato.atp.v1.AvailabilityService(
    `127.0.0.1:${sidecars[HOME]!.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  for (let i = 0; i < GRPC_CHECKOUTS; i++) {
    const md = new grpc.Metadata();
    md.set('x-atp-buyer-key', CANARY.buyer);
    const res = await new Promise<any>((resolve, reject) =>
      client.Check(checkout(HOME, `${CANARY.request}-g${i}`), md, (e: Error | null, v: unknown) =>
        e ? reject(e) : resolve(v),
      ),
    );
    t.equal(res.region, HOME);
  }
  client.close();
  // A canary request misrouted to another region is refused there (and must leave no trace).
  for (const r of REGIONS.filter((x) => x !== HOME)) {
    const res = await post(r, checkout(HOME, `${CANARY.request}-lost`, canaryExtra), canaryHeaders);
    t.equal(res.status, 421, `${r} refuses eu-west's request`);
    t.equal(res.json.error.field, 'region');
  }

  // Step 1b: order outcomes of every region's promises; eu-west's carry buyer ids and addresses.
  const now = Date.now();
  const outcomesOf = (r: string): string[] => {
    const lines: string[] = [];
    for (const [i, a] of answers[r]!.entries()) {
      const item = a.items[0];
      if (a.decision !== 'allow' || item.options.length === 0) continue;
      const wire = outcomeToWire({
        outcomeId: r === HOME ? `${CANARY.order}-${i}` : `order-${r}-${i}`,
        decisionId: a.decision_id,
        region: r,
        sku: 'IN-STOCK',
        node: item.options[0].node_id,
        qty: 1,
        status: i % 5 === 0 ? 'short-picked' : 'fulfilled',
        unitsPicked: i % 5 === 0 ? 0 : 1,
        promisedAtMs: now - 60_000,
        dueAtMs: now,
        resolvedAtMs: now - 1_000,
        onTime: i % 5 !== 0,
      });
      lines.push(JSON.stringify(r === HOME ? { ...wire, ...canaryExtra } : wire));
    }
    return lines;
  };
  const outcomeLines = outcomesOf(HOME);
  for (const r of REGIONS) {
    const lines = r === HOME ? outcomeLines : outcomesOf(r);
    await producer.send(
      outcomesTopic(r),
      lines.map((v, i) => ({ key: `o-${i}`, value: v })),
    );
  }
  await producer.stop();

  // Step 2: what every process shows outside its region (scraped while running).
  const exported: Artifact[] = [];
  const get = async (name: string, url: string, token?: string) => {
    const res = await fetch(
      url,
      token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    );
    exported.push({ name, bytes: Buffer.from(await res.arrayBuffer()) });
  };
  for (const r of REGIONS) {
    const base = `http://127.0.0.1:${sidecars[r]!.httpPort}`;
    await get(`GET ${r} /metrics`, `${base}/metrics`);
    await get(`GET ${r} /v1/drift`, `${base}/v1/drift`);
    await get(`GET ${r} /v1/filter-snapshot`, `${base}/v1/filter-snapshot`);
  }
  for (const [i, ing] of ingesters.entries()) {
    await get(`GET ingester ${REGIONS[i]} /metrics`, `http://127.0.0.1:${ing.metricsPort}/metrics`);
  }
  await get('GET control plane /metrics', `${w.url}/metrics`, TOKENS.viewer);
  await get('GET control plane /v1/snapshot', `${w.url}/v1/snapshot`, TOKENS.viewer);
  await get('GET control plane /v1/regions', `${w.url}/v1/regions`, TOKENS.viewer);
  await get('GET control plane /v1/audit', `${w.url}/v1/audit`, TOKENS.viewer);
  await stopAll();
  running = false;

  // Step 2b: eu-west's outcome join runs in eu-west; its report (aggregates) may cross.
  const homeDecisions = kcatTopic(kafka.brokers, decisionsTopic(HOME))
    .toString()
    .split('\n')
    .filter((l) => l.includes('\t'))
    .map((l) => l.slice(l.indexOf('\t') + 1));
  t.ok(homeDecisions.length >= CHECKOUTS_PER_REGION, `${homeDecisions.length} eu-west decision events`);
  writeFileSync(join(dir, HOME, 'stream.ndjson'), `${homeDecisions.join('\n')}\n`);
  writeFileSync(join(dir, HOME, 'outcomes.ndjson'), `${outcomeLines.join('\n')}\n`);
  const evaluate = (...args: string[]) =>
    spawnSync(process.execPath, [join(REPO_ROOT, 'evaluation/bin/atp-evaluate.js'), ...args], {
      encoding: 'utf8',
      timeout: 120_000,
    });
  const db = join(dir, HOME, 'eval.sqlite');
  const run = evaluate(
    'run',
    '--region',
    HOME,
    '--regions-file',
    regionsFile,
    '--db',
    db,
    '--decisions-file',
    join(dir, HOME, 'stream.ndjson'),
    '--outcomes-file',
    join(dir, HOME, 'outcomes.ndjson'),
    '--close-all',
    '--http-port',
    'off',
    '--log-level',
    'warn',
  );
  t.equal(run.status, 0, run.stderr);
  const report = evaluate('report', '--db', db, '--json');
  t.equal(report.status, 0, report.stderr);
  t.match(report.stdout, /"region":\s*"eu-west"/, 'the report has eu-west figures');
  exported.push({ name: 'atp-evaluate report --json (eu-west)', bytes: Buffer.from(report.stdout) });
  // The business-impact files exported for us-east: aggregates, allowed by the registry's metrics flow.
  const impactFile = join(dir, HOME, 'impact-for-us-east.json');
  const exportTo = (file: string, registryFile: string) =>
    evaluate(
      'report',
      '--db',
      db,
      '--json-file',
      file,
      '--export-region',
      'us-east',
      '--regions-file',
      registryFile,
    );
  const allowed = exportTo(impactFile, regionsFile);
  t.equal(allowed.status, 0, allowed.stderr);
  exported.push({
    name: 'atp-evaluate report --json-file --export-region us-east',
    bytes: readFileSync(impactFile),
  });
  const closedFile = join(dir, 'regions-closed.json');
  writeFileSync(closedFile, JSON.stringify({ regions: regions.regions.map((r) => ({ ...r, flows: [] })) }));
  const refused = exportTo(join(dir, HOME, 'impact-refused.json'), closedFile);
  t.equal(refused.status, 2, 'no metrics flow eu-west -> us-east: refused');
  t.match(refused.stderr, /--export-region: .*allows no metrics flow from eu-west to us-east/);

  // Step 2c: federated training; eu-west's private rows carry buyer ids, only aggregates leave.
  const { sent, model } = federatedRun(REGIONS, HOME, [CANARY.buyer, CANARY.address]);
  t.ok(sent.length > 0, `${sent.length} aggregates crossed`);
  exported.push({ name: `federated aggregates (${sent.length} messages)`, bytes: Buffer.concat(sent) });
  exported.push({ name: 'federated model', bytes: Buffer.from(JSON.stringify(model)) });
  const bundle = join(REPO_ROOT, 'models', readFileSync(join(REPO_ROOT, 'models/CURRENT'), 'utf8').trim());
  for (const f of filesUnder(bundle)) exported.push({ name: `bundle ${f}`, bytes: readFileSync(f) });

  // Step 3: other regions' topics and files (where eu-west's data would land if it crossed).
  const topics = kcatTopics(kafka.brokers);
  const elsewhere = topics.filter((x) => regionOfTopic(x) !== HOME);
  t.ok(
    REGIONS.filter((r) => r !== HOME).every((r) => elsewhere.includes(decisionsTopic(r))),
    'the other regions streamed decisions',
  );
  const crossing: Artifact[] = [
    ...exported,
    ...elsewhere.map((x) => ({ name: `topic ${x}`, bytes: kcatTopic(kafka.brokers, x) })),
    ...REGIONS.filter((r) => r !== HOME).flatMap((r) =>
      filesUnder(join(dir, r)).map((f) => ({ name: `file ${f}`, bytes: readFileSync(f) })),
    ),
  ];
  const scan = scanArtifacts(crossing, CANARIES);
  t.same(scan.hits, [], 'no canary crossed a border');
  t.ok(scan.artifacts >= 20 && scan.bytes > 10_000, 'a real scan');
  t.comment(
    `cross-border scan: ${scan.artifacts} artifacts, ${scan.bytes} bytes, ${scan.hits.length} hits ` +
      `(${elsewhere.length} topics of other regions, ${exported.length} exports and endpoints)`,
  );

  // Step 4: the scanner does find canaries: in eu-west itself, and one planted across on purpose.
  const inRegion = scanArtifacts(
    [
      { name: `topic ${outcomesTopic(HOME)}`, bytes: kcatTopic(kafka.brokers, outcomesTopic(HOME)) },
      { name: 'eu-west decision log', bytes: readFileSync(join(dir, HOME, 'decisions.ndjson')) },
    ],
    CANARIES,
  );
  t.ok(inRegion.hits.length > 0, `in eu-west the canaries are there: ${inRegion.hits.length} hits`);
  const leak = new KafkaEventProducer({ brokers: kafka.brokers, clientId: 'leak', logger: silentLogger() });
  await leak.start();
  await leak.send(decisionsTopic('us-east'), [
    {
      key: 'leak',
      value: Buffer.from(JSON.stringify({ note: Buffer.from(CANARY.buyer).toString('base64') })),
    },
  ]);
  await leak.stop();
  const planted = scanArtifacts(
    [
      {
        name: `topic ${decisionsTopic('us-east')}`,
        bytes: kcatTopic(kafka.brokers, decisionsTopic('us-east')),
      },
    ],
    CANARIES,
  );
  t.equal(planted.hits.length, 1, 'a canary planted on us-east (base64-encoded) is found');
  t.match(planted.hits[0], { canary: CANARY.buyer, encoding: /^base64/ });
  t.comment(
    `in-region control: ${inRegion.hits.length} hits in eu-west; planted leak: ${planted.hits.length} hit`,
  );
  rmSync(join(dir, HOME, 'eval.sqlite'), { force: true });
});
