/**
 * EventSource over the in-process MemoryEventLog (the embedded default of
 * `npm start`): the same contract KafkaEventSource keeps, so the ingest
 * domain cannot tell them apart.
 *
 * - It joins the log's consumer group for its topic; on every generation it
 *   gets its partitions (`assigned`), stops the loops of partitions it lost
 *   (their batch in flight sees isActive() false and its commit is refused)
 *   and starts one fetch loop per partition it gained, from the group's
 *   committed offset (or the log start / end, by fromBeginning).
 * - One batch at a time per partition; a batch the handler leaves
 *   uncommitted is fetched again, as with eachBatchAutoResolve false.
 * - A handler that throws is a consumer crash: reported (`crashed`,
 *   restarting) and the partition restarts from its committed offset after
 *   a short pause.
 * - Commits are sent at once (nothing to coalesce in memory).
 */
import type { MemoryEventLog } from '@mercato/adapters/memory/memory-event-log';
import { AtpError } from '@mercato/platform/errors';
import { nextOffset } from '@mercato/proto/v1/stream-lag';
import { INGEST_ERR } from '../../ingest-errors.js';
import type { BatchHandler, EventSource, SourceStatus } from '../../ports.js';

/** Records handed to the handler at most per batch (a Kafka fetch returns about this many events). */
export const DEFAULT_MAX_BATCH_RECORDS = 1_000;
/** Longest a fetch waits for new records before looping (and noticing a stop). */
export const DEFAULT_MAX_WAIT_MS = 100;
/** Pause before a partition restarts after its handler threw. */
export const CRASH_RESTART_DELAY_MS = 200;

export interface MemoryEventSourceConfig {
  log: MemoryEventLog;
  topic: string;
  groupId: string;
  clientId: string;
  fromBeginning: boolean;
  maxBatchRecords?: number;
  maxWaitMs?: number;
}

interface PartitionLoop {
  generation: number;
  active: boolean;
  done: Promise<void>;
}

export class MemoryEventSource implements EventSource {
  private handler: BatchHandler | null = null;
  private onStatus: (s: SourceStatus) => void = () => undefined;
  private readonly loops = new Map<number, PartitionLoop>();
  private running = false;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;

  constructor(private readonly config: MemoryEventSourceConfig) {
    this.maxBatch = config.maxBatchRecords ?? DEFAULT_MAX_BATCH_RECORDS;
    this.maxWaitMs = config.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  /** Read before the first fetch (see EventSource.hadCommitsAtStart). */
  private commitsAtStart: boolean | undefined = undefined;

  hadCommitsAtStart(): boolean | undefined {
    return this.commitsAtStart;
  }

  async start(handler: BatchHandler, onStatus: (s: SourceStatus) => void): Promise<void> {
    this.commitsAtStart = this.config.log.committed(this.config.groupId, this.config.topic).size > 0;
    if (this.running) return;
    this.handler = handler;
    this.onStatus = onStatus;
    this.running = true;
    const { log, groupId, topic, clientId } = this.config;
    log.join(groupId, topic, {
      memberId: clientId,
      onAssignment: (partitions, generation) => this.assign(partitions, generation),
    });
  }

  /** Leaves the group after the batches in flight finish. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    const { log, groupId, topic, clientId } = this.config;
    const loops = [...this.loops.values()];
    for (const l of loops) l.active = false;
    await Promise.all(loops.map((l) => l.done));
    this.loops.clear();
    log.leave(groupId, topic, clientId);
    this.onStatus({ kind: 'stopped' });
  }

  /** Leaves the group, moves its offsets to the log start, joins again (the store epoch refill). */
  async rewindToStart(): Promise<void> {
    const handler = this.handler;
    if (handler === null || !this.running) return;
    const onStatus = this.onStatus;
    await this.stop();
    this.config.log.resetToEarliest(this.config.groupId, this.config.topic);
    await this.start(handler, onStatus);
  }

  async highWatermarks(): Promise<Map<number, string>> {
    return this.config.log.highWatermarks(this.config.topic);
  }

  async committedOffsets(): Promise<Map<number, string>> {
    return this.config.log.committed(this.config.groupId, this.config.topic);
  }

  private assign(partitions: readonly number[], generation: number): void {
    if (!this.running) return;
    this.onStatus({ kind: 'rebalancing' });
    const keep = new Set(partitions);
    for (const [p, loop] of this.loops) {
      // Every partition belongs to the new generation: lost ones stop, kept ones carry on under it.
      if (keep.has(p)) loop.generation = generation;
      else {
        loop.active = false;
        this.loops.delete(p);
      }
    }
    for (const p of partitions) {
      if (this.loops.has(p)) continue;
      const loop: PartitionLoop = { generation, active: true, done: Promise.resolve() };
      loop.done = this.consume(p, loop);
      this.loops.set(p, loop);
    }
    this.onStatus({ kind: 'assigned', partitions: [...partitions].sort((a, b) => a - b) });
  }

  private startOffset(partition: number): string {
    const { log, groupId, topic, fromBeginning } = this.config;
    const committed = log.committed(groupId, topic).get(partition);
    if (committed !== undefined) return committed;
    return fromBeginning ? log.logStartOffset(topic, partition) : log.highWatermark(topic, partition);
  }

  private async consume(partition: number, loop: PartitionLoop): Promise<void> {
    const { log, topic, groupId, clientId } = this.config;
    const handler = this.handler;
    if (handler === null) return;
    let position = this.startOffset(partition);
    while (loop.active) {
      const records = log.read(topic, partition, position, this.maxBatch);
      const last = records[records.length - 1];
      if (last === undefined) {
        await log.waitForData(topic, partition, position, this.maxWaitMs);
        continue;
      }
      // Set by the handler's commit (a closure, so kept in an object the compiler does not narrow).
      const progress: { next: string | null } = { next: null };
      try {
        await handler(
          {
            topic,
            partition,
            messages: records.map((r) => ({
              offset: r.offset,
              key: r.key,
              value: r.value,
              timestampMs: r.timestampMs,
            })),
            highWatermark: log.highWatermark(topic, partition),
          },
          {
            heartbeat: async () => {
              if (!loop.active) throw this.revoked(partition);
            },
            isActive: () => loop.active,
            commit: async (lastOffset) => {
              const next = nextOffset(lastOffset);
              log.commit(groupId, topic, clientId, loop.generation, partition, next);
              progress.next = next;
              this.onStatus({ kind: 'committed', partition, offset: next });
            },
          },
        );
      } catch (err) {
        if (!loop.active) break;
        this.onStatus({
          kind: 'crashed',
          error: err instanceof Error ? err : new Error(String(err)),
          restarting: true,
        });
        await new Promise((r) => setTimeout(r, CRASH_RESTART_DELAY_MS));
        if (!loop.active) break;
        position = this.startOffset(partition);
        // As a restarted Kafka consumer rejoins: the domain learns its partitions again.
        this.onStatus({ kind: 'assigned', partitions: [...this.loops.keys()].sort((a, b) => a - b) });
        continue;
      }
      // An uncommitted batch is fetched again (the handler abandoned it or is retrying).
      if (progress.next !== null) position = progress.next;
    }
  }

  private revoked(partition: number): AtpError {
    return new AtpError(
      INGEST_ERR.COMMIT_FAILED,
      `${this.config.topic}[${partition}] was reassigned: rejoin before committing`,
    );
  }
}
