/**
 * An in-process, Kafka-shaped event log: the embedded default for `npm
 * start`, so the real ingest domain runs over it exactly as it runs over
 * Kafka (simulator -> log -> ingester -> feature store -> sidecar), without
 * a broker.
 *
 * What it keeps of Kafka's model:
 * - topics of numbered partitions; a record's partition is murmur2 of its
 *   key (partitionForKey, as kafkajs' DefaultPartitioner and the Java
 *   client compute it), so lag attribution and misrouting checks hold;
 * - per-partition offsets (int64 decimal strings at the edge), a high
 *   watermark, and retention (the oldest records drop past a bound; offsets
 *   never move back);
 * - consumer groups: committed offsets per (group, partition), and a
 *   coordinator that spreads partitions over the members that joined and
 *   reassigns them (a new generation) when one joins or leaves; a commit
 *   for a partition the member no longer owns is refused, as a fenced
 *   Kafka commit is.
 *
 * What it does not keep: durability across restarts, replication, bytes
 * limits. The consumer side of the ingester lives in
 * ingest/src/adapters/memory/memory-event-source.ts.
 */
import { AtpError } from '@mercato/platform/errors';
import { partitionForKey } from '@mercato/proto/v1/partition-for-key';
import { ADAPTERS_ERR } from '../errors.js';
import type { EventProducer, KeyedRecord } from '../event-producer.js';

/** librdkafka's mock and many dev brokers auto-create topics with this many partitions. */
export const DEFAULT_PARTITIONS = 4;
/** Records kept per partition before the oldest are dropped (the embedded world runs for hours). */
export const DEFAULT_RETAINED_RECORDS = 200_000;

export interface LogRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestampMs: number;
}

export interface MemoryEventLogOptions {
  /** Partitions of a topic created on first use (default DEFAULT_PARTITIONS). */
  defaultPartitions?: number;
  retainedRecords?: number;
  /** Record timestamps (create time), ms. */
  clock?: () => number;
}

/** A member of a consumer group: told its partitions on every generation. */
export interface GroupMember {
  readonly memberId: string;
  onAssignment(partitions: readonly number[], generation: number): void;
}

interface Partition {
  /** Offset of records[0]. */
  start: bigint;
  records: LogRecord[];
  waiters: Set<() => void>;
}

interface Group {
  members: Map<string, GroupMember>;
  generation: number;
  owner: Map<number, string>;
  /** Partition -> next offset to read. */
  committed: Map<number, bigint>;
}

export class MemoryEventLog implements EventProducer {
  private readonly topics = new Map<string, Partition[]>();
  private readonly groups = new Map<string, Group>();
  private readonly defaultPartitions: number;
  private readonly retained: number;
  private readonly clock: () => number;

  constructor(opts: MemoryEventLogOptions = {}) {
    this.defaultPartitions = opts.defaultPartitions ?? DEFAULT_PARTITIONS;
    this.retained = opts.retainedRecords ?? DEFAULT_RETAINED_RECORDS;
    this.clock = opts.clock ?? Date.now;
  }

  /** Creates `topic` with `partitions` partitions; an existing topic keeps its shape. */
  createTopic(topic: string, partitions = this.defaultPartitions): void {
    if (this.topics.has(topic)) return;
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new AtpError(ADAPTERS_ERR.INVALID_ARGUMENT, `partitions must be >= 1, got ${partitions}`);
    }
    this.topics.set(
      topic,
      Array.from({ length: partitions }, () => ({ start: 0n, records: [], waiters: new Set() })),
    );
  }

  partitionCount(topic: string): number {
    return this.partitionsOf(topic).length;
  }

  /** Appends keyed records, each to the partition of its key (EventProducer); a record's own timestamp wins over the clock. */
  async send(topic: string, records: readonly KeyedRecord[]): Promise<void> {
    const parts = this.partitionsOf(topic);
    const touched = new Set<Partition>();
    const now = this.clock();
    for (const r of records) {
      const p = parts[partitionForKey(r.key, parts.length)] as Partition;
      this.push(p, {
        key: Buffer.from(r.key, 'utf8'),
        value: typeof r.value === 'string' ? Buffer.from(r.value, 'utf8') : r.value,
        timestampMs: r.timestamp === undefined ? now : Number(r.timestamp),
      });
      touched.add(p);
    }
    for (const p of touched) this.wake(p);
  }

  /** Appends raw records to one partition (tests: misrouted or undecodable records). */
  append(topic: string, partition: number, records: readonly Omit<LogRecord, 'offset'>[]): void {
    const p = this.partition(topic, partition);
    for (const r of records) this.push(p, { ...r });
    this.wake(p);
  }

  /** Up to `max` records from `offset` (or from the log start when retention dropped it). */
  read(topic: string, partition: number, offset: string, max: number): LogRecord[] {
    const p = this.partition(topic, partition);
    const from = BigInt(offset) < p.start ? 0 : Number(BigInt(offset) - p.start);
    return p.records.slice(from, from + max);
  }

  /** Offset the next appended record gets. */
  highWatermark(topic: string, partition: number): string {
    const p = this.partition(topic, partition);
    return (p.start + BigInt(p.records.length)).toString();
  }

  logStartOffset(topic: string, partition: number): string {
    return this.partition(topic, partition).start.toString();
  }

  highWatermarks(topic: string): Map<number, string> {
    return new Map(this.partitionsOf(topic).map((_, i) => [i, this.highWatermark(topic, i)]));
  }

  /**
   * Resolves when the partition holds a record at or past `offset`, or after
   * `timeoutMs` (a fetch's max wait).
   */
  waitForData(topic: string, partition: number, offset: string, timeoutMs: number): Promise<void> {
    const p = this.partition(topic, partition);
    if (p.start + BigInt(p.records.length) > BigInt(offset)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        p.waiters.delete(done);
        resolve();
      };
      // Not unref'd: a consumer waiting for data keeps its process alive, as an open fetch does.
      const timer = setTimeout(done, timeoutMs);
      p.waiters.add(done);
    });
  }

  // ---- consumer groups ------------------------------------------------------------------------

  /** Adds `member` to the group of `topic`; every member gets its share in a new generation. */
  join(groupId: string, topic: string, member: GroupMember): void {
    const g = this.group(groupId, topic);
    g.members.set(member.memberId, member);
    this.rebalance(g, topic);
  }

  /** Removes the member; its partitions go to the others. Idempotent. */
  leave(groupId: string, topic: string, memberId: string): void {
    const g = this.group(groupId, topic);
    if (g.members.delete(memberId)) this.rebalance(g, topic);
  }

  /** True while `memberId` owns `partition` in `generation`. */
  owns(groupId: string, topic: string, memberId: string, partition: number, generation: number): boolean {
    const g = this.group(groupId, topic);
    return g.generation === generation && g.owner.get(partition) === memberId;
  }

  /**
   * Stores `nextOffset` (the next record to read) for the partition; refused
   * (ATP_ERR_UNAVAILABLE, retriable) when the member no longer owns it.
   */
  commit(
    groupId: string,
    topic: string,
    memberId: string,
    generation: number,
    partition: number,
    nextOffset: string,
  ): void {
    if (!this.owns(groupId, topic, memberId, partition, generation)) {
      throw new AtpError(
        ADAPTERS_ERR.UNAVAILABLE,
        `commit refused: ${memberId} no longer owns ${topic}[${partition}] (rebalanced)`,
      );
    }
    const g = this.group(groupId, topic);
    const next = BigInt(nextOffset);
    if (next > (g.committed.get(partition) ?? -1n)) g.committed.set(partition, next);
  }

  /**
   * Moves the group's committed offsets back to the log start (kafka-consumer-groups
   * --reset-offsets --to-earliest): the store epoch refill replays the whole log.
   */
  resetToEarliest(groupId: string, topic: string): void {
    const g = this.group(groupId, topic);
    for (let p = 0; p < this.partitionCount(topic); p++) {
      g.committed.set(p, BigInt(this.logStartOffset(topic, p)));
    }
  }

  /** The group's committed offsets (partitions without a commit are absent). */
  committed(groupId: string, topic: string): Map<number, string> {
    const g = this.group(groupId, topic);
    return new Map([...g.committed].map(([p, o]) => [p, o.toString()]));
  }

  private group(groupId: string, topic: string): Group {
    const id = `${groupId}\u0000${topic}`;
    let g = this.groups.get(id);
    if (g === undefined) {
      g = { members: new Map(), generation: 0, owner: new Map(), committed: new Map() };
      this.groups.set(id, g);
    }
    return g;
  }

  /** Round-robin over members sorted by id: deterministic, and even within one partition. */
  private rebalance(g: Group, topic: string): void {
    g.generation++;
    g.owner.clear();
    const ids = [...g.members.keys()].sort();
    const share = new Map<string, number[]>(ids.map((id) => [id, []]));
    if (ids.length > 0) {
      for (let p = 0; p < this.partitionCount(topic); p++) {
        const id = ids[p % ids.length] as string;
        g.owner.set(p, id);
        share.get(id)?.push(p);
      }
    }
    for (const [id, m] of g.members) m.onAssignment(share.get(id) ?? [], g.generation);
  }

  private partitionsOf(topic: string): Partition[] {
    this.createTopic(topic);
    return this.topics.get(topic) as Partition[];
  }

  private partition(topic: string, partition: number): Partition {
    const p = this.partitionsOf(topic)[partition];
    if (p === undefined) {
      throw new AtpError(ADAPTERS_ERR.INVALID_ARGUMENT, `${topic} has no partition ${partition}`);
    }
    return p;
  }

  private push(p: Partition, r: Omit<LogRecord, 'offset'>): void {
    p.records.push({ ...r, offset: (p.start + BigInt(p.records.length)).toString() });
    if (p.records.length > this.retained) {
      // Drop in chunks so retention costs O(1) amortized per record.
      const drop = p.records.length - this.retained + Math.ceil(this.retained / 10);
      p.records.splice(0, drop);
      p.start += BigInt(drop);
    }
  }

  private wake(p: Partition): void {
    for (const w of [...p.waiters]) w();
  }
}
