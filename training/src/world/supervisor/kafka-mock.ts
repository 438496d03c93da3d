/**
 * librdkafka's mock cluster, a real Kafka-protocol broker, started through
 * Debian's `kcat` (`-X test.mock.num.brokers=N`): the world's default Kafka
 * when no `--brokers` are given. kcat prints the bootstrap list on stderr
 * and serves until killed. Topics auto-create with 4 partitions; each
 * partition keeps only its newest ~5 MB, so the world keeps its own NDJSON
 * log of everything it produced.
 */
import { spawnSync } from 'node:child_process';
import { ManagedProcess } from './managed-process.js';

export const KAFKA_MOCK_BROKERS = 3;
export const KCAT_MISSING =
  "kcat is not installed: apt-get install -y kcat (it carries librdkafka's mock Kafka cluster)";

export function kcatAvailable(): boolean {
  return spawnSync('kcat', ['-V']).status === 0;
}

export interface KafkaMock {
  brokers: string[];
  process: ManagedProcess;
}

export async function startKafkaMock(logPath: string, brokerCount = KAFKA_MOCK_BROKERS): Promise<KafkaMock> {
  if (!kcatAvailable()) throw new Error(KCAT_MISSING);
  const proc = new ManagedProcess({
    name: 'kafka-mock',
    command: 'kcat',
    // kcat needs something to do while it serves: consume a topic nobody writes.
    args: [
      '-b',
      'localhost:1',
      '-X',
      `test.mock.num.brokers=${brokerCount}`,
      '-q',
      '-C',
      '-t',
      '__mock_keepalive',
    ],
    logPath,
  });
  proc.start();
  const m = await proc.waitForLine(/(?:replaced with|bootstrap\.servers=)\s*(\S+)/, 15_000);
  return { brokers: (m[1] ?? '').split(','), process: proc };
}
