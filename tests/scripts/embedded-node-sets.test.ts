/**
 * The embedded node sets of `npm start`: the batch package's own jobs run
 * against the memory publisher and a snapshot of the memory event log, and
 * the sidecar's directory serves exactly the versions they published.
 */
import t from 'tap';
import { MemoryEventLog } from '../../adapters/src/memory/memory-event-log.js';
import { MemoryNodeDirectory } from '../../adapters/src/memory/memory-node-directory.js';
import { runDirectoryJob } from '../../batch/src/directory-job.js';
import { runFeaturesJob } from '../../batch/src/features-job.js';
import type { DeliveredEvent } from '../../batch/src/ports.js';
import { encodeEvent, eventKey } from '../../proto/v1/inventory-event.js';
import { memoryLogEventHistory, memoryNodeSetPublisher } from '../../scripts/embedded-node-sets.js';
import { ev, T0 } from '../helpers/events.js';
import { TINY_NODES } from '../helpers/tiny-world.js';

const TOPIC = 'inventory.mutations.eu-west';
const DELAY_MS = 1_500;

t.test('the history is the log up to its high watermark, each event with its record time', async (t) => {
  const log = new MemoryEventLog({ clock: () => 1 });
  log.createTopic(TOPIC, 3);
  const events = [
    ev('receipt', 5, 1, { sku: 'A', node: 'WH-1' }),
    ev('sale', 2, 2, { sku: 'A', node: 'WH-1' }),
    ev('receipt', 9, 1, { sku: 'B', node: 'ST-1' }),
  ];
  await log.send(
    TOPIC,
    events.map((e) => ({
      key: eventKey(e),
      value: encodeEvent(e),
      timestamp: String(e.eventTimeMs + DELAY_MS),
    })),
  );
  log.append(TOPIC, 1, [{ key: Buffer.from('A'), value: Buffer.from('{not json'), timestampMs: 2 }]);

  const seen: DeliveredEvent[] = [];
  const skipped = await memoryLogEventHistory(log, TOPIC).read((r) => seen.push(r));
  t.same(seen.map((r) => r.event.eventId).sort(), events.map((e) => e.eventId).sort(), 'every event once');
  t.ok(
    seen.every((r) => r.arrivalMs === r.event.eventTimeMs + DELAY_MS),
    'arrival is the producer-stamped record time, not the log clock',
  );
  t.equal(skipped.invalid, 1, 'the undecodable record is counted, not thrown');
  t.match(skipped.firstError, /inventory\.mutations\.eu-west\[1\]@/);
});

t.test('the batch jobs publish into the directory the sidecar reads, versions and all', async (t) => {
  const log = new MemoryEventLog();
  const events = TINY_NODES.flatMap((n, i) => [
    ev('receipt', 10, 1, { sku: 'A', node: n.nodeId, atMs: T0 + i }),
    ev('cycle-count', 9, 2, { sku: 'A', node: n.nodeId, atMs: T0 + 60_000 + i }),
  ]);
  await log.send(
    TOPIC,
    events.map((e) => ({ key: eventKey(e), value: encodeEvent(e), timestamp: String(e.eventTimeMs) })),
  );
  const directory = new MemoryNodeDirectory();
  const publisher = memoryNodeSetPublisher(directory);
  const nowMs = T0 + 3_600_000;

  const dir = await runDirectoryJob('eu-west', TINY_NODES, publisher, nowMs);
  t.equal(directory.directoryVersion, dir.version, 'the directory serves the published version');
  t.same(directory.directoryInfo(), { version: dir.version, computedAtMs: nowMs });
  t.same(
    directory
      .all()
      .map((n) => n.nodeId)
      .sort(),
    TINY_NODES.map((n) => n.nodeId).sort(),
  );

  const feats = await runFeaturesJob(
    {
      region: 'eu-west',
      events: memoryLogEventHistory(log, TOPIC),
      outcomes: null,
      nowMs,
      windowMs: 86_400_000,
    },
    publisher,
  );
  t.equal(feats.eventsUsed, events.length, 'every logged event fed the features');
  t.equal(feats.skipped.events.invalid, 0);
  t.equal(directory.batchVersion, feats.version, 'the directory serves the published feature set');
  t.same(directory.batchInfo(), { version: feats.version, computedAtMs: nowMs });
  t.ok(feats.nodes > 0, 'nodes got batch features');
});
