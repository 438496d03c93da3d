/**
 * The embedded twins of the batch job's Redis publisher and Kafka history, so
 * `npm start` runs the batch package's own jobs (runDirectoryJob,
 * runFeaturesJob) in-process:
 *
 * - memoryNodeSetPublisher: each publish replaces the sidecar's
 *   MemoryNodeDirectory set at once (the embedded "switch the pointer"),
 *   keeping the published version and computation time the sidecar reports;
 * - memoryLogEventHistory: a snapshot of the event log's topic, from the log
 *   start to the high watermark at read time, with the record timestamp as
 *   arrival time (what kafkaEventHistory reads from the brokers).
 */
import type { MemoryEventLog } from '../adapters/src/memory/memory-event-log.js';
import type { MemoryNodeDirectory } from '../adapters/src/memory/memory-node-directory.js';
import type { EventHistory, NodeSetPublisher, SkippedRecords } from '../batch/src/ports.js';
import { decodeEvent } from '../proto/v1/inventory-event.js';
import { ContractError } from '../proto/v1/validate.js';

/** Records read (and decoded) per call while snapshotting a partition, between two yields to the event loop. */
const READ_CHUNK_RECORDS = 10_000;

export function memoryNodeSetPublisher(directory: MemoryNodeDirectory): NodeSetPublisher {
  return {
    async publishDirectory(version, nodes, computedAtMs) {
      directory.replaceAll(nodes, { version, computedAtMs });
    },
    async publishBatch(set) {
      directory.loadBatch(set.version, set.nodes, set.computedAtMs);
    },
  };
}

export function memoryLogEventHistory(log: MemoryEventLog, topic: string): EventHistory {
  return {
    name: `memory:${topic}`,
    async read(onRecord) {
      const skipped: SkippedRecords = { invalid: 0, firstError: null };
      for (const [partition, high] of log.highWatermarks(topic)) {
        let offset = log.logStartOffset(topic, partition);
        while (BigInt(offset) < BigInt(high)) {
          const records = log.read(topic, partition, offset, READ_CHUNK_RECORDS);
          const last = records[records.length - 1];
          if (last === undefined) break;
          for (const r of records) {
            if (BigInt(r.offset) >= BigInt(high)) break;
            try {
              onRecord({ event: decodeEvent(r.value?.toString('utf8') ?? ''), arrivalMs: r.timestampMs });
            } catch (err) {
              if (!(err instanceof ContractError)) throw err;
              skipped.invalid++;
              skipped.firstError ??= `${topic}[${partition}]@${r.offset}: ${err.message}`;
            }
          }
          offset = (BigInt(last.offset) + 1n).toString();
          // A long-running mesh's log holds hours of events: let the sidecar answer between chunks.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return skipped;
    },
  };
}
