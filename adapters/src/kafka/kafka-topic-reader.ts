/**
 * Reads a topic from its beginning up to the log end as it was when the read
 * began (a bounded snapshot of the history), for batch jobs and audits that
 * recompute from the log. It joins a throw-away consumer group (nothing is
 * committed, so production consumer groups are untouched) and stops once
 * every partition reached its starting high watermark.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createKafkaClient, type SocketFactory } from './kafka-client.js';

/** Give up when the topic delivers nothing new for this long before the snapshot is complete. */
export const TOPIC_READ_IDLE_TIMEOUT_MS = 30_000;

export interface TopicRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Broker or producer timestamp of the record (ms): when it reached the log. */
  timestampMs: number;
}

export interface TopicReaderOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  socketFactory?: SocketFactory;
  idleTimeoutMs?: number;
}

/** Calls `onRecord` for every record of `topic` below the high watermarks seen at start; resolves with the count. */
export async function readTopicSnapshot(
  topic: string,
  opts: TopicReaderOptions,
  onRecord: (r: TopicRecord) => void,
): Promise<number> {
  const kafka = createKafkaClient(opts);
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const remaining = new Set([...ends].filter(([, end]) => end > 0n).map(([p]) => p));
  if (remaining.size === 0) return 0;
  const consumer = kafka.consumer({ groupId: `atp-snapshot-${randomUUID()}`, allowAutoTopicCreation: false });
  let count = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const idleMs = opts.idleTimeoutMs ?? TOPIC_READ_IDLE_TIMEOUT_MS;
      let idle = setTimeout(() => reject(new Error(`topic ${topic}: no progress for ${idleMs} ms`)), idleMs);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(batch.partition) ?? 0n;
            for (const m of batch.messages) {
              if (BigInt(m.offset) >= end) break;
              onRecord({
                partition: batch.partition,
                offset: m.offset,
                key: m.key,
                value: m.value,
                timestampMs: Number(m.timestamp),
              });
              count++;
            }
            clearTimeout(idle);
            idle = setTimeout(
              () => reject(new Error(`topic ${topic}: no progress for ${idleMs} ms`)),
              idleMs,
            );
            const last = batch.messages.at(-1);
            if (last !== undefined && BigInt(last.offset) + 1n >= end) remaining.delete(batch.partition);
            if (remaining.size === 0) {
              clearTimeout(idle);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return count;
}
