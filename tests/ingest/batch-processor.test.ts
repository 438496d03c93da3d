import t from 'tap';
import { R } from '../../features/src/record-layout.js';
import { INGEST_ERR } from '../../ingest/src/ingest-errors.js';
import { metricValue } from '../../ingest/src/ingest-metrics.js';
import { partitionForKey } from '../../proto/v1/partition-for-key.js';
import { ev, T0 } from '../helpers/events.js';
import { batchOf, FakeControl, processorRig, TOPIC } from './ingest-fakes.js';

t.test('a batch is committed after its last record, and only once the store acknowledged it', async (t) => {
  const rig = processorRig();
  let release!: () => void;
  rig.store.gate = new Promise((r) => {
    release = r;
  });
  const control = new FakeControl();
  // Hand over three events; the store holds its acknowledgement back.
  const done = rig.processor.handle(
    batchOf([ev('receipt', 5, 1), ev('sale', 1, 2), ev('sale', 1, 3)], 0, 40),
    control,
  );
  await new Promise((r) => setImmediate(r));
  t.same(control.commits, [], 'nothing is committed while the write is unacknowledged');
  // Acknowledge: the commit names the last record's offset (the adapter commits it + 1).
  release();
  await done;
  t.same(control.commits, ['42']);
  t.equal(rig.store.state.get('SKU-1', 'WH-1')![R.onHand], 3);
  t.equal(await metricValue(rig.metrics.registry, 'atp_ingest_events_total', { result: 'applied' }), 3);
});

t.test(
  'a malformed record goes to the dead-letter sink with its reason and origin, and is counted',
  async (t) => {
    const rig = processorRig();
    const control = new FakeControl();
    const bad = {
      offset: '7',
      key: Buffer.from('SKU-1'),
      value: Buffer.from('{"schema":"nope"}'),
      timestampMs: T0,
    };
    const tombstone = { offset: '8', key: Buffer.from('SKU-1'), value: null, timestampMs: T0 };
    // A valid event, a record with the wrong schema and a tombstone in one batch.
    await rig.processor.handle(batchOf([ev('receipt', 5, 1), bad, tombstone], 2, 6), control);
    t.equal(rig.deadLetters.sent.length, 2);
    const [first, second] = rig.deadLetters.sent;
    t.match(first, {
      code: 'ATP_ERR_INVALID_FIELD',
      field: 'schema',
      topic: TOPIC,
      partition: 2,
      offset: '7',
    });
    t.equal(first!.value!.toString(), '{"schema":"nope"}', 'the original bytes travel untouched');
    t.match(second, { code: INGEST_ERR.EMPTY_VALUE.code, offset: '8' });
    // The valid event is applied and the whole batch committed: the bad records are not lost, they are in the DLQ.
    t.equal(rig.store.state.get('SKU-1', 'WH-1')![R.onHand], 5);
    t.same(control.commits, ['8']);
    t.equal(
      await metricValue(rig.metrics.registry, 'atp_ingest_dead_letters_total', {
        code: 'ATP_ERR_INVALID_FIELD',
      }),
      1,
    );
    t.equal(await metricValue(rig.metrics.registry, 'atp_ingest_dead_letters_total'), 2);
  },
);

t.test(
  'when the store rejects, the batch is retried with backoff and heartbeats, and committed only after it succeeds',
  async (t) => {
    const rig = processorRig();
    const control = new FakeControl();
    let healthWhileFailing = true;
    control.onHeartbeat = () => {
      healthWhileFailing &&= rig.health.status().problems.some((p) => p.component === 'store');
    };
    // The store fails five times, then answers.
    rig.store.failNext = 5;
    await rig.processor.handle(batchOf([ev('receipt', 5, 1)]), control);
    t.equal(rig.store.calls, 6, 'the same batch was tried six times');
    t.same(control.commits, ['0'], 'committed once, after the successful write');
    t.ok(control.heartbeats >= 5, `heartbeats kept flowing while waiting (${control.heartbeats})`);
    t.ok(healthWhileFailing, 'health named the store as down while retrying');
    t.same(rig.health.status().problems, [], 'and recovered afterwards');
    // Delays grow and stay bounded by the configured maximum.
    t.ok(
      rig.sleeps.every((ms) => ms <= 250),
      'waits are sliced by the heartbeat period',
    );
    t.equal(await metricValue(rig.metrics.registry, 'atp_ingest_batch_retries_total'), 5);
    t.equal(rig.store.state.get('SKU-1', 'WH-1')![R.onHand], 5, 'applied exactly once in effect');
  },
);

t.test('a batch whose partition is revoked while retrying is abandoned uncommitted', async (t) => {
  const rig = processorRig();
  const control = new FakeControl();
  rig.store.failNext = 1_000;
  // The group takes the partition away during the second heartbeat.
  control.onHeartbeat = () => {
    if (control.heartbeats === 2) control.active = false;
  };
  await rig.processor.handle(batchOf([ev('receipt', 5, 1)]), control);
  t.same(control.commits, []);
  t.ok(rig.store.calls < 10, 'it stopped retrying');
});

t.test('a long batch is applied in chunks with a heartbeat between chunks', async (t) => {
  const rig = processorRig({ maxApplyChunkEvents: 10 });
  const control = new FakeControl();
  const events = Array.from({ length: 35 }, (_, i) => ev('receipt', 1, i + 1));
  await rig.processor.handle(batchOf(events), control);
  t.equal(rig.store.calls, 4, 'four writes of at most ten events');
  t.equal(control.heartbeats, 3, 'a heartbeat after each chunk but the last');
  t.same(control.commits, ['34']);
  t.equal(rig.store.state.get('SKU-1', 'WH-1')![R.onHand], 35);
});

t.test(
  'when the dead-letter topic does not acknowledge, nothing is applied or committed until it does',
  async (t) => {
    const rig = processorRig();
    const control = new FakeControl();
    rig.deadLetters.failNext = 2;
    const bad = { offset: '1', key: null, value: Buffer.from('not json'), timestampMs: T0 };
    await rig.processor.handle(batchOf([ev('receipt', 5, 1), bad]), control);
    t.equal(rig.deadLetters.sent.length, 1, 'sent once it was acknowledged');
    t.same(control.commits, ['1']);
    t.equal(
      await metricValue(rig.metrics.registry, 'atp_ingest_dependency_errors_total', {
        dependency: 'dead_letters',
      }),
      2,
    );
  },
);

t.test(
  'a failed commit is reported and escapes, so the consumer recovers and re-delivers the batch',
  async (t) => {
    const rig = processorRig();
    const control = new FakeControl();
    control.failCommit = true;
    await t.rejects(rig.processor.handle(batchOf([ev('receipt', 5, 1)]), control));
    t.equal(rig.health.status().problems[0]?.code, INGEST_ERR.COMMIT_FAILED.code);
    // Re-delivery of the same batch is harmless: the event is a duplicate now.
    control.failCommit = false;
    await rig.processor.handle(batchOf([ev('receipt', 5, 1, { id: 'same' })]), control);
    t.equal(rig.store.state.get('SKU-1', 'WH-1')![R.onHand], 5);
    t.same(rig.health.status().problems, []);
  },
);

t.test('events visible later than their source objective count as freshness violations', async (t) => {
  const now = T0 + 100_000;
  const rig = processorRig({}, now);
  const control = new FakeControl();
  // First-party 2 s and 8 s old (objective 5 s); third-party 30 s and 90 s old (objective 60 s).
  await rig.processor.handle(
    batchOf([
      ev('receipt', 1, 1, { atMs: now - 2_000 }),
      ev('receipt', 1, 2, { atMs: now - 8_000 }),
      ev('receipt', 1, 1, { node: 'SL-1', atMs: now - 30_000 }),
      ev('receipt', 1, 2, { node: 'SL-1', atMs: now - 90_000 }),
    ]),
    control,
  );
  const reg = rig.metrics.registry;
  t.equal(await metricValue(reg, 'atp_ingest_freshness_events_total', { source: 'first-party' }), 2);
  t.equal(await metricValue(reg, 'atp_ingest_freshness_slo_violations_total', { source: 'first-party' }), 1);
  t.equal(await metricValue(reg, 'atp_ingest_freshness_slo_violations_total', { source: 'third-party' }), 1);
  t.equal(await metricValue(reg, 'atp_ingest_freshness_slo_seconds', { source: 'third-party' }), 60);
});

t.test('events keyed or partitioned against the contract are applied and counted as misrouted', async (t) => {
  const rig = processorRig();
  rig.lag.onOffsets(new Map([0, 1, 2, 3].map((p) => [p, '0'])), new Map());
  const control = new FakeControl();
  const e = ev('receipt', 5, 1, { sku: 'SKU-9' });
  const right = partitionForKey('SKU-9', 4);
  const wrong = (right + 1) % 4;
  // One record without a key, one on the wrong partition.
  const unkeyed = { ...batchOf([e]).messages[0]!, key: null };
  await rig.processor.handle(batchOf([unkeyed], right), control);
  await rig.processor.handle(batchOf([ev('receipt', 1, 2, { sku: 'SKU-9' })], wrong, 1), control);
  t.equal(rig.store.state.get('SKU-9', 'WH-1')![R.onHand], 6);
  t.equal(await metricValue(rig.metrics.registry, 'atp_ingest_misrouted_total', { reason: 'key' }), 1);
  t.equal(await metricValue(rig.metrics.registry, 'atp_ingest_misrouted_total', { reason: 'partition' }), 1);
});

t.test(
  'SKUs holding early events are marked per partition, and their gaps flushed once the watermark passes the timeout',
  async (t) => {
    const rig = processorRig();
    const control = new FakeControl();
    // Sequence 2 is missing: sequence 3 waits.
    await rig.processor.handle(
      batchOf([ev('receipt', 10, 1, { sku: 'G', atMs: T0 }), ev('sale', 4, 3, { sku: 'G', atMs: T0 })], 1),
      control,
    );
    t.same([...rig.state.pending.get(1)!], ['G'], 'the SKU is marked on its partition');
    t.equal(rig.store.state.get('G', 'WH-1')![R.onHand], 10);
    // Events of another SKU move the partition's event time 10 minutes ahead.
    await rig.processor.handle(
      batchOf([ev('receipt', 1, 1, { sku: 'H', atMs: T0 + 600_000 })], 1, 2),
      control,
    );
    t.equal(rig.store.state.get('G', 'WH-1')![R.onHand], 6, 'the gap was given up on and sequence 3 applied');
    t.same([...rig.state.pending.get(1)!], [], 'the mark is gone');
    t.equal(await metricValue(rig.metrics.registry, 'atp_ingest_gaps_skipped_total'), 1);
  },
);
