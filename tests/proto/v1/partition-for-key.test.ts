import { Partitioners } from 'kafkajs';
import t from 'tap';
import { murmur2, partitionForKey } from '../../../proto/v1/partition-for-key.js';

t.test(
  'partitionForKey picks the partition kafkajs DefaultPartitioner picks, for any key and partition count',
  async (t) => {
    const kafkajs = Partitioners.DefaultPartitioner();
    let disagreements = 0;
    for (let i = 0; i < 5_000; i++) {
      // SKUs, node ids, non-ASCII keys and every tail length 0..3.
      const key = i % 3 === 0 ? `SKU-${i}` : i % 3 === 1 ? `ST-${i}-é` : 'x'.repeat(i % 7) + i;
      for (const n of [1, 4, 12, 100]) {
        const partitionMetadata = Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 1 }));
        const want = kafkajs({
          topic: 't',
          partitionMetadata: partitionMetadata as any,
          message: { key, value: 'v' },
        });
        if (want !== partitionForKey(key, n)) disagreements++;
      }
    }
    t.equal(disagreements, 0);
  },
);

t.test('murmur2 matches the reference values of the Java client', async (t) => {
  // Values from org.apache.kafka.common.utils.UtilsTest#testMurmur2.
  const cases: [string, number][] = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, want] of cases) t.equal(murmur2(Buffer.from(key)), want, key);
});
