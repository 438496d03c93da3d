import t from 'tap';
import { KafkaEventSource } from '../../../../ingest/src/adapters/kafka/kafka-event-source.js';
import type { SourceStatus } from '../../../../ingest/src/ports.js';
import { startKafkaMockCluster } from '../../../helpers/kafka-mock-cluster.js';
import { adminOf, producer, quietLog, waitFor } from '../../ingest-rig.js';

const cluster = await startKafkaMockCluster();
const admin = await adminOf(cluster.brokers);
const prod = await producer(cluster.brokers);
t.teardown(async () => {
  await prod.stop();
  await admin.disconnect();
  await cluster.stop();
});

const TOPIC = 'source-commit-test';
const GROUP = 'source-commit-group';
/** Records the first consumer commits per partition. */
const COMMIT_EACH = 10;

function source(commitIntervalMs = 0, topic = TOPIC, groupId = GROUP): KafkaEventSource {
  return new KafkaEventSource({
    brokers: cluster.brokers,
    clientId: 'source-test',
    groupId,
    topic,
    commitIntervalMs,
    fromBeginning: true,
    sessionTimeoutMs: 6_000,
    rebalanceTimeoutMs: 10_000,
    heartbeatIntervalMs: 500,
    partitionsConsumedConcurrently: 4,
    maxBytesPerPartition: 1_048_576,
    maxWaitTimeMs: 100,
    logger: quietLog,
  });
}

t.test(
  'what BatchControl.commit commits is really committed: a restarted consumer starts right after it',
  async (t) => {
    // 400 keyed records spread over the 4 partitions.
    await prod.send(
      TOPIC,
      Array.from({ length: 400 }, (_, i) => ({ key: `k-${i}`, value: `v-${i}` })),
    );
    // First consumer: commit the first COMMIT_EACH records of each partition, then touch nothing more.
    const first = source();
    const committedAt = new Map<number, string>();
    const statuses: SourceStatus[] = [];
    await first.start(
      async (batch, control) => {
        if (committedAt.has(batch.partition)) return;
        const last = batch.messages[Math.min(COMMIT_EACH, batch.messages.length) - 1]!;
        await control.commit(last.offset);
        committedAt.set(batch.partition, last.offset);
      },
      (s) => statuses.push(s),
    );
    await waitFor(() => committedAt.size === 4, 20_000, 'a commit on every partition');
    // The source reports the same positions for lag: committed last + 1, high watermark = records per partition.
    const committed = await first.committedOffsets();
    const high = await first.highWatermarks();
    t.same([...committed].sort(), [...committedAt].map(([p, o]) => [p, String(Number(o) + 1)]).sort());
    t.equal(
      [...high.values()].reduce((a, h) => a + Number(h), 0),
      400,
    );
    await first.stop();
    t.match(statuses[0], { kind: 'assigned', partitions: [0, 1, 2, 3] });
    // The broker holds last + 1 for each partition: the offset of the next record to read.
    const [stored] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    for (const p of stored!.partitions) {
      t.equal(
        p.offset,
        String(Number(committedAt.get(p.partition)) + 1),
        `partition ${p.partition} committed last + 1`,
      );
    }
    // Second consumer in the same group: its first record per partition is the one after the commit.
    const second = source();
    const firstSeen = new Map<number, string>();
    await second.start(
      async (batch) => {
        if (!firstSeen.has(batch.partition)) firstSeen.set(batch.partition, batch.messages[0]!.offset);
      },
      () => undefined,
    );
    await waitFor(() => firstSeen.size === 4, 20_000, 'a batch on every partition');
    await second.stop();
    for (const [p, offset] of firstSeen) {
      t.equal(
        offset,
        String(Number(committedAt.get(p)) + 1),
        `partition ${p} resumes after the committed record`,
      );
    }
  },
);

t.test(
  'coalesced commits are still sent: the last one of an idle partition goes out on the timer',
  async (t) => {
    const topic = 'source-deferred-test';
    const groupId = 'source-deferred-group';
    await prod.send(
      topic,
      Array.from({ length: 40 }, (_, i) => ({ key: `d-${i}`, value: `v-${i}` })),
    );
    // Commits at most every 300 ms: the first batch of each partition commits at once, later ones wait.
    const s = source(300, topic, groupId);
    const committed: [number, string][] = [];
    const lastOffset = new Map<number, string>();
    await s.start(
      async (batch, control) => {
        const last = batch.messages[batch.messages.length - 1]!.offset;
        lastOffset.set(batch.partition, last);
        await control.commit(last);
      },
      (st) => {
        if (st.kind === 'committed') committed.push([st.partition, st.offset]);
      },
    );
    t.teardown(() => s.stop());
    // 40 more records arrive while the partitions' commit interval is running.
    await waitFor(() => lastOffset.size === 4, 20_000, 'a batch on every partition');
    await prod.send(
      topic,
      Array.from({ length: 40 }, (_, i) => ({ key: `d-${i}`, value: `w-${i}` })),
    );
    // Without another batch, the timer commits the newest processed offset of each partition.
    await waitFor(
      async () => {
        const [stored] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return stored!.partitions.reduce((a, p) => a + Number(p.offset), 0) === 80;
      },
      10_000,
      'all 80 records committed',
    );
    t.ok(committed.length >= 8, `commits reported to the ingester (${committed.length})`);
  },
);
