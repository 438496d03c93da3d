/**
 * Decision records are user-level data: a decision-stream sink holds a
 * residency clearance for its topic and brokers, minted by the sidecar's
 * guard; it cannot be built for another region's brokers, nor for a region
 * the registry does not know.
 */
import t from 'tap';
import { parseRegionRegistryFile } from '../../../adapters/src/regions/region-registry-file.js';
import { silentLogger } from '../../../platform/src/logger.js';
import { isClearance, ResidencyGuard } from '../../../proto/v1/residency.js';
import {
  createDecisionEventSink,
  KafkaDecisionSink,
} from '../../../sidecar/src/decision-log/decision-stream-sinks.js';

const registry = parseRegionRegistryFile({
  regions: [
    { name: 'eu-west', residency: 'eu-gdpr', kafka_brokers: ['kafka.eu-west:9092'], flows: [] },
    { name: 'us-east', residency: 'us', kafka_brokers: ['kafka.us-east:9092'], flows: [] },
  ],
});

t.test('a sink is cleared for its own topic on its own brokers only', async (t) => {
  const guard = new ResidencyGuard(registry, 'eu-west');
  const sink = new KafkaDecisionSink(['kafka.eu-west:9092'], guard, silentLogger());
  t.equal(sink.topic, 'atp.decisions.eu-west');
  t.ok(isClearance(sink.clearance));
  t.same([sink.clearance.data, sink.clearance.to], ['user-level', 'eu-west']);
  await sink.close();
  t.throws(() => new KafkaDecisionSink(['kafka.us-east:9092'], guard, silentLogger()), {
    code: 'ATP_ERR_RESIDENCY',
    field: 'decision-stream',
    message: /broker kafka.us-east:9092 is us-east's/,
  });
  t.throws(
    () => createDecisionEventSink({ kind: 'file', path: '/tmp/x.ndjson' }, 'mars-1', silentLogger()),
    { message: /unknown region "mars-1"/ },
    'a region the default registry does not know',
  );
});
