/**
 * The embedded system's event path (what `npm start` runs): events produced
 * to the in-process MemoryEventLog reach a MemoryFeatureStore through the
 * REAL ingest domain (startEmbeddedIngest -> createIngester), each applied
 * exactly once, with lag reported to the state store the sidecar reads and
 * the group's total lag exposed for autoscaling.
 */
import t from 'tap';
import { MemoryEventLog } from '../../adapters/src/memory/memory-event-log.js';
import { MemoryFeatureStore } from '../../adapters/src/memory/memory-feature-store.js';
import { MemoryIngestState } from '../../adapters/src/memory/memory-ingest-state.js';
import { startEmbeddedIngest } from '../../ingest/src/embedded-ingest.js';
import { metricValue } from '../../ingest/src/ingest-metrics.js';
import { encodeEvent, eventKey, type InventoryEvent } from '../../proto/v1/inventory-event.js';
import { partitionForKey } from '../../proto/v1/partition-for-key.js';
import { waitFor } from '../helpers/wait-for.js';
import { referenceOf, stockStream } from './ingest-rig.js';

const REGION = 'eu-west';
const TOPIC = `inventory.mutations.${REGION}`;
const PARTITIONS = 6;

function records(events: readonly InventoryEvent[]) {
  return events.map((e) => ({ key: eventKey(e), value: encodeEvent(e) }));
}

function caughtUp(log: MemoryEventLog, group: string): boolean {
  const committed = log.committed(group, TOPIC);
  return [...log.highWatermarks(TOPIC)].every(([p, high]) => (committed.get(p) ?? '0') === high);
}

t.test(
  'events produced to the memory log are applied exactly once through the real ingest domain',
  async (t) => {
    const log = new MemoryEventLog();
    log.createTopic(TOPIC, PARTITIONS);
    const store = new MemoryFeatureStore();
    const state = new MemoryIngestState();
    const events = stockStream('EMB', 30, 12);
    const half = Math.floor(events.length / 2);
    // Part of the stream is already in the log, with every record of it produced twice.
    await log.send(TOPIC, records(events.slice(0, half)));
    await log.send(TOPIC, records(events.slice(0, half)));
    const ingest = await startEmbeddedIngest({
      region: REGION,
      log,
      featureSink: store,
      stateStore: state,
      lagReportIntervalMs: 50,
      maxBatchRecords: 64,
    });
    t.teardown(() => ingest.stop());
    // The rest arrives while it runs, plus one record no decoder accepts.
    await log.send(TOPIC, records(events.slice(half)));
    log.append(TOPIC, 2, [
      { key: Buffer.from('junk'), value: Buffer.from('{not json'), timestampMs: Date.now() },
    ]);

    await waitFor(() => caughtUp(log, 'atp-ingest-eu-west'), 20_000, 'the group to commit the whole log');
    t.equal(store.state.digest(), referenceOf(events).digest(), 'the store equals one in-order application');
    const registry = ingest.metrics.registry;
    t.equal(await metricValue(registry, 'atp_ingest_events_total', { result: 'applied' }), events.length);
    t.equal(
      await metricValue(registry, 'atp_ingest_events_total', { result: 'duplicate' }),
      half,
      'the re-sent records were dropped as duplicates',
    );
    t.equal(ingest.deadLetters.letters.length, 1, 'the undecodable record is a dead letter');
    t.equal(ingest.deadLetters.letters[0]?.partition, 2);

    await ingest.reportLag();
    t.same(ingest.health().assignedPartitions, [0, 1, 2, 3, 4, 5]);
    const reports = state.reports();
    t.equal(reports.length, PARTITIONS, 'one lag report per partition');
    t.ok(
      reports.every((r) => r.offsetLag === 0 && r.lagMs === 0),
      'caught up: no lag',
    );
    t.equal(state.topicMeta?.partitionCount, PARTITIONS, 'the sidecar learns the topic shape');
    const sku = events[0]!.sku;
    t.equal(state.partitionOf(sku), partitionForKey(sku, PARTITIONS));
    t.equal(state.lagMsForSku(sku), 0);
    t.equal(
      await metricValue(registry, 'atp_ingest_group_lag_records', { group: 'atp-ingest-eu-west' }),
      0,
      'the group lag gauge reads zero once caught up',
    );
  },
);

t.test('lag is reported while the ingester is behind', async (t) => {
  const log = new MemoryEventLog();
  log.createTopic(TOPIC, 2);
  const store = new MemoryFeatureStore();
  const state = new MemoryIngestState();
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  // A store that holds its first write until released: the ingester falls behind the log.
  const slow = {
    applyEvents: async (evs: readonly InventoryEvent[]) => {
      await gate;
      return store.applyEvents(evs);
    },
    flushGaps: (skus: readonly string[], w: number) => store.flushGaps(skus, w),
  };
  const events = stockStream('LAG', 8, 10);
  await log.send(TOPIC, records(events));
  const ingest = await startEmbeddedIngest({
    region: REGION,
    log,
    featureSink: slow,
    stateStore: state,
    lagReportIntervalMs: 50,
  });
  t.teardown(() => ingest.stop());
  await waitFor(() => state.reports().some((r) => r.offsetLag > 0), 5_000, 'a lag report');
  const registry = ingest.metrics.registry;
  const lagged = await metricValue(registry, 'atp_ingest_group_lag_records', { group: 'atp-ingest-eu-west' });
  t.equal(lagged, events.length, 'nothing committed yet: the whole log is lag');
  release();
  await waitFor(() => caughtUp(log, 'atp-ingest-eu-west'), 10_000, 'the group to catch up');
  t.equal(store.state.digest(), referenceOf(events).digest());
});

t.test('two embedded ingesters share the partitions and apply every event once', async (t) => {
  const log = new MemoryEventLog();
  log.createTopic(TOPIC, PARTITIONS);
  const store = new MemoryFeatureStore();
  const state = new MemoryIngestState();
  const events = stockStream('TWO', 24, 10);
  const common = { region: REGION, log, featureSink: store, stateStore: state, lagReportIntervalMs: 50 };
  const a = await startEmbeddedIngest({ ...common, clientId: 'a', maxBatchRecords: 16 });
  t.teardown(() => a.stop());
  await log.send(TOPIC, records(events.slice(0, 100)));
  const b = await startEmbeddedIngest({ ...common, clientId: 'b', maxBatchRecords: 16 });
  t.teardown(() => b.stop());
  await log.send(TOPIC, records(events.slice(100)));
  await waitFor(() => caughtUp(log, 'atp-ingest-eu-west'), 20_000, 'the group to catch up');
  t.same(
    [...a.health().assignedPartitions, ...b.health().assignedPartitions].sort(),
    [0, 1, 2, 3, 4, 5],
    'each partition has exactly one owner',
  );
  t.ok(b.health().assignedPartitions.length > 0, 'the newcomer took partitions');
  t.equal(store.state.digest(), referenceOf(events).digest());
  // b leaves: a takes everything back and keeps going.
  await b.stop();
  const more = stockStream('TWO', 24, 4, 11);
  await log.send(TOPIC, records(more));
  await waitFor(() => caughtUp(log, 'atp-ingest-eu-west'), 20_000, 'the survivor to catch up');
  t.same(a.health().assignedPartitions, [0, 1, 2, 3, 4, 5]);
  t.equal(store.state.digest(), referenceOf([...events, ...more]).digest());
});
