/**
 * Regional feature store in Redis (DESIGN.md §3, §6). The ingester writes with
 * `applyEvents` (read, fold with the shared feature module, compare-and-set);
 * the sidecar reads all candidates of a SKU with one HGETALL. Node liveness is
 * read from a process-local copy of the nodes hash refreshed on a timer, since
 * it is not in the SKU's cluster slot and changes on a seconds scale.
 *
 * The client must fail fast (see createRedisClient): a read that cannot be
 * answered within its command timeout rejects, and the caller degrades.
 *
 * On Redis Cluster (cluster-slots.ts) the batched reads and writes go out as
 * one pipeline per node, and a batch is acknowledged only once every replica
 * of the primaries it wrote to has it (WAIT), so a failover never loses a
 * write the ingester has committed past.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { applyToNode } from '@mercato/features/feature-state';
import { N, NODE_RECORD_WIDTH, newRecord, RECORD_WIDTH } from '@mercato/features/record-layout';
import {
  applyToPair,
  flushPairGap,
  newSequenceStats,
  type PairEntry,
  type SequenceStats,
} from '@mercato/features/sequenced-apply';
import type { FeatureReader, SkuView } from '@mercato/features/store-ports';
import { AtpError } from '@mercato/platform/errors';
import { Periodic } from '@mercato/platform/periodic';
import { HEARTBEAT_SKU, type InventoryEvent } from '@mercato/proto/v1/inventory-event';
import { ADAPTERS_ERR } from '../errors.js';
import { type CasPair, packCasPairs } from './cas-pairs-codec.js';
import { type NodeGroup, pipelineByNode, type RedisClient, waitForReplicas } from './cluster-slots.js';
import { casPairsLua, NODE_MAX_LUA } from './lua-scripts.js';
import {
  decodeNodeRecord,
  decodePending,
  decodeRecord,
  decodeRecordInto,
  encodePending,
  encodeRecord,
} from './record-codec.js';
import { nodesKey, PENDING_SUFFIX, pendingField, skuKey } from './redis-keys.js';
import { DEFAULT_WRITE_CACHE_PAIRS, type WrittenPair, WrittenPairCache } from './written-pair-cache.js';

/** A record before any event (newRecord()), copied into the scratch record of a fold. */
const FRESH_RECORD = newRecord();

/** Node liveness changes every heartbeat period (tens of seconds); a 1 s copy is fresh enough. */
export const NODE_REFRESH_MS = 1_000;
/** Compare-and-set rounds before a batch is reported as failed (the ingester then does not commit). */
export const MAX_CAS_ROUNDS = 8;
/** Random pause before a CAS retry, times the round: two writers in lockstep must drift apart. */
export const CAS_RETRY_JITTER_MS = 4;
/** How long a cluster primary waits for its replicas to confirm a batch; under the write profile's command timeout. */
export const REPLICA_ACK_TIMEOUT_MS = 1_000;

export interface ApplyReport extends SequenceStats {
  heartbeats: number;
  casRetries: number;
  /** SKUs that still hold out-of-order events (candidates for flushGaps). */
  skusWithPending: string[];
}

type RedisWithScripts = RedisClient & {
  atpCasPacked(key: string, packed: Buffer): Promise<number[]>;
  atpNodeMax(key: string, ...args: (string | number)[]): Promise<number>;
};

export interface RedisFeatureStoreOptions {
  writeCachePairs?: number;
  /** Redis Cluster: wait for the replicas of every primary written to before acknowledging (default true). */
  waitForReplicas?: boolean;
}

export class RedisFeatureStore implements FeatureReader {
  private readonly redis: RedisWithScripts;
  private nodeCache = new Map<string, Float64Array>();
  private liveness: Periodic | null = null;
  /** Time of the last successful node refresh (ms); 0 = never. */
  nodesRefreshedAtMs = 0;

  /** What this process last wrote per pair; see written-pair-cache.ts. */
  private readonly written: WrittenPairCache;

  /**
   * `livenessClient` (optional) serves the periodic read of the whole nodes
   * hash, so it does not compete with (or time out under) a read client
   * profiled for a few ms per SKU read.
   */
  private readonly replicated: boolean;

  /**
   * Forgets what this process wrote: after the store lost its state (a new
   * store epoch) the cached bytes describe data that is gone, and a replayed
   * event that folds to the same bytes would not be written again.
   */
  forgetWrites(): void {
    this.written.clear();
  }

  constructor(
    redis: RedisClient,
    private readonly region: string,
    private readonly livenessClient: RedisClient = redis,
    options: RedisFeatureStoreOptions = {},
  ) {
    this.written = new WrittenPairCache(options.writeCachePairs ?? DEFAULT_WRITE_CACHE_PAIRS);
    this.replicated = options.waitForReplicas ?? true;
    this.redis = redis as RedisWithScripts;
    if (typeof this.redis.atpCasPacked !== 'function') {
      redis.defineCommand('atpCasPacked', { numberOfKeys: 1, lua: casPairsLua(PENDING_SUFFIX) });
      redis.defineCommand('atpNodeMax', { numberOfKeys: 1, lua: NODE_MAX_LUA });
    }
  }

  /**
   * Starts refreshing node liveness; resolves after the first refresh attempt.
   * A failed refresh keeps the last copy (its age shows in nodesRefreshedAtMs).
   */
  async start(refreshMs = NODE_REFRESH_MS): Promise<void> {
    if (this.liveness !== null) return;
    const liveness = new Periodic({
      name: 'node-liveness-refresh',
      intervalMs: refreshMs,
      run: () => this.refreshNodes(),
    });
    this.liveness = liveness;
    await liveness.runOnce();
    await liveness.start();
  }

  /** Stops the liveness refresh (a refresh in flight is awaited); idempotent. */
  async stop(): Promise<void> {
    const liveness = this.liveness;
    this.liveness = null;
    await liveness?.stop();
  }

  async refreshNodes(): Promise<void> {
    const all = await this.livenessClient.hgetallBuffer(nodesKey(this.region));
    const next = new Map<string, Float64Array>();
    for (const [node, buf] of Object.entries(all)) next.set(node, decodeNodeRecord(buf));
    this.nodeCache = next;
    this.nodesRefreshedAtMs = Date.now();
  }

  async readSku(sku: string): Promise<SkuView> {
    const all = await this.redis.hgetallBuffer(skuKey(this.region, sku));
    const nodeIds: string[] = [];
    for (const field of Object.keys(all)) if (!field.endsWith(PENDING_SUFFIX)) nodeIds.push(field);
    nodeIds.sort();
    const recs = new Float64Array(nodeIds.length * RECORD_WIDTH);
    const nodeRecs = new Float64Array(nodeIds.length * NODE_RECORD_WIDTH);
    nodeIds.forEach((node, i) => {
      decodeRecordInto(all[node], recs, i * RECORD_WIDTH, RECORD_WIDTH);
      const nrec = this.nodeCache.get(node);
      if (nrec !== undefined) nodeRecs.set(nrec, i * NODE_RECORD_WIDTH);
    });
    return { nodeIds, recs, nodeRecs };
  }

  /**
   * Applies a batch of delivered events (any order, duplicates allowed) and
   * resolves once every write is acknowledged by Redis. Rejects when Redis is
   * unreachable or compare-and-set keeps conflicting: nothing is then known to
   * be written, and the caller must not commit the batch's offsets.
   */
  async applyEvents(events: readonly InventoryEvent[]): Promise<ApplyReport> {
    const report: ApplyReport = { ...newSequenceStats(), heartbeats: 0, casRetries: 0, skusWithPending: [] };
    const bySku = new Map<string, InventoryEvent[]>();
    const nodeRecs = new Map<string, Float64Array>();
    for (const e of events) {
      let nrec = nodeRecs.get(e.node);
      if (nrec === undefined) {
        nrec = new Float64Array(NODE_RECORD_WIDTH);
        nodeRecs.set(e.node, nrec);
      }
      applyToNode(nrec, e);
      if (e.kind === 'heartbeat' || e.sku === HEARTBEAT_SKU) {
        report.heartbeats++;
        continue;
      }
      const list = bySku.get(e.sku);
      if (list === undefined) bySku.set(e.sku, [e]);
      else list.push(e);
    }
    // The node liveness write rides in the first CAS pipeline: one round trip per batch, not two.
    await this.casSkus(
      bySku,
      report,
      (entry, evs, st) => {
        for (const e of evs) applyToPair(entry, e, st);
      },
      nodeRecs.size > 0 ? nodeMaxArgs(nodeRecs) : null,
    );
    return report;
  }

  /** Gives up on gaps older than GAP_TIMEOUT_MS behind `watermarkMs` in the given SKUs. */
  async flushGaps(skus: readonly string[], watermarkMs: number): Promise<ApplyReport> {
    const report: ApplyReport = { ...newSequenceStats(), heartbeats: 0, casRetries: 0, skusWithPending: [] };
    const bySku = new Map<string, InventoryEvent[]>(skus.map((s) => [s, []]));
    await this.casSkus(bySku, report, (entry, _evs, st) => {
      flushPairGap(entry, watermarkMs, st);
    });
    return report;
  }

  /** Reads a pair as stored (tests and tools). */
  async readPair(sku: string, node: string): Promise<PairEntry> {
    const [rec, pend] = await this.redis.hmgetBuffer(skuKey(this.region, sku), node, pendingField(node));
    return { rec: decodeRecord(rec), pending: decodePending(pend) };
  }

  /**
   * Read-fold-CAS for every SKU in `bySku`; the fold receives a pair entry,
   * that pair's events (empty for flushes) and counters for that pair.
   * Conflicting pairs are re-read and folded again from the same events, which
   * is safe because the fold is idempotent; only counters of written pairs count.
   * `nodeArgs` (the node liveness update, NODE_MAX_LUA's arguments) goes out
   * in the first round's pipeline.
   */
  private async casSkus(
    bySku: Map<string, InventoryEvent[]>,
    report: ApplyReport,
    fold: (entry: PairEntry, events: InventoryEvent[], stats: SequenceStats) => void,
    nodeArgs: (string | number)[] | null = null,
  ): Promise<void> {
    // sku -> node -> events of that pair (arrival order).
    let work = new Map<string, Map<string, InventoryEvent[]>>();
    for (const [sku, evs] of bySku) {
      const pairs = new Map<string, InventoryEvent[]>();
      for (const e of evs) {
        const l = pairs.get(e.node);
        if (l === undefined) pairs.set(e.node, [e]);
        else l.push(e);
      }
      if (evs.length === 0) {
        // A flush: every node of the SKU with held events.
        const fields = await this.redis.hkeys(skuKey(this.region, sku));
        for (const f of fields)
          if (f.endsWith(PENDING_SUFFIX)) pairs.set(f.slice(0, -PENDING_SUFFIX.length), []);
      }
      if (pairs.size > 0) work.set(sku, pairs);
    }
    const withPending = new Set<string>();
    const scratch = new Float64Array(RECORD_WIDTH);
    // Node groups written to (by primary), whose replicas must confirm before the batch counts as durable.
    const writtenTo = new Map<string, NodeGroup>();
    for (let round = 0; round < MAX_CAS_ROUNDS && work.size > 0; round++) {
      if (round > 0) {
        report.casRetries++;
        await sleep(Math.random() * CAS_RETRY_JITTER_MS * round);
      }
      const skus = [...work.keys()];
      // Pairs this process wrote last need no read: fold onto the cached bytes and CAS against them.
      const cachedBySku = new Map<string, (WrittenPair | undefined)[]>();
      const readSkus: string[] = [];
      const readFields: string[][] = [];
      for (const sku of skus) {
        const fields: string[] = [];
        const hits: (WrittenPair | undefined)[] = [];
        for (const node of work.get(sku)!.keys()) {
          const hit = this.written.get(sku, node);
          hits.push(hit);
          if (hit === undefined) fields.push(node, pendingField(node));
        }
        cachedBySku.set(sku, hits);
        if (fields.length > 0) {
          readSkus.push(sku);
          readFields.push(fields);
        }
      }
      const { replies: readResults } = await pipelineByNode(
        this.redis,
        readSkus.map((sku) => skuKey(this.region, sku)),
        (p, i) => p.hmgetBuffer(skuKey(this.region, readSkus[i]!), ...readFields[i]!),
      );
      const readBySku = new Map<string, (Buffer | null)[]>(
        readSkus.map((sku, i) => [sku, readResults[i] as (Buffer | null)[]]),
      );
      const planned: {
        sku: string;
        nodes: string[];
        stats: SequenceStats[];
        next: WrittenPair[];
        packed: Buffer;
      }[] = [];
      for (const sku of skus) {
        const values = readBySku.get(sku) ?? [];
        let vi = 0;
        const pairs = work.get(sku)!;
        const nodes = [...pairs.keys()];
        const cas: CasPair[] = [];
        const stats: SequenceStats[] = [];
        const nexts: WrittenPair[] = [];
        const hits = cachedBySku.get(sku) ?? [];
        for (let ni = 0; ni < nodes.length; ni++) {
          const node = nodes[ni]!;
          const hit = hits[ni];
          let oldRec: Buffer | null;
          let oldPend: Buffer | string | null;
          if (hit !== undefined) {
            oldRec = hit.rec;
            oldPend = hit.pend;
          } else {
            oldRec = values[vi++] ?? null;
            oldPend = values[vi++] ?? null;
          }
          // One scratch record per batch: the fold mutates it and it is encoded at once.
          scratch.set(FRESH_RECORD);
          decodeRecordInto(oldRec, scratch, 0, RECORD_WIDTH);
          const entry: PairEntry = { rec: scratch, pending: decodePending(oldPend) };
          const st = newSequenceStats();
          fold(entry, pairs.get(node)!, st);
          const next = { rec: encodeRecord(entry.rec), pend: encodePending(entry.pending) };
          stats.push(st);
          nexts.push(next);
          cas.push({ field: node, oldRec, newRec: next.rec, oldPend, newPend: next.pend });
        }
        planned.push({ sku, nodes, stats, next: nexts, packed: packCasPairs(cas) });
      }
      const writeKeys = planned.map((plan) => skuKey(this.region, plan.sku));
      const nodeWrite = nodeArgs;
      if (nodeWrite !== null) {
        writeKeys.push(nodesKey(this.region));
        nodeArgs = null;
      }
      const { replies: writeResults, groups } = await pipelineByNode(this.redis, writeKeys, (p, i) => {
        const plan = planned[i];
        const q = p as unknown as PipelineWithScripts;
        if (plan === undefined) q.atpNodeMax(nodesKey(this.region), ...(nodeWrite ?? [0]));
        else q.atpCasPacked(writeKeys[i]!, plan.packed);
      });
      for (const g of groups) writtenTo.set(g.primary ?? '', g);
      const retry = new Map<string, Map<string, InventoryEvent[]>>();
      planned.forEach((plan, i) => {
        const conflicting = writeResults[i] as number[];
        const conflicts = conflicting.length === 0 ? null : new Set(conflicting);
        const again = new Map<string, InventoryEvent[]>();
        plan.nodes.forEach((node, ni) => {
          if (conflicts?.has(ni + 1) === true) {
            // Someone else wrote this pair: forget our copy, read it next round.
            this.written.delete(plan.sku, node);
            again.set(node, work.get(plan.sku)!.get(node)!);
            return;
          }
          const next = plan.next[ni]!;
          this.written.set(plan.sku, node, next);
          const st = plan.stats[ni]!;
          report.applied += st.applied;
          report.duplicates += st.duplicates;
          report.gapsSkipped += st.gapsSkipped;
          if (next.pend !== '') withPending.add(plan.sku);
        });
        if (again.size > 0) retry.set(plan.sku, again);
      });
      work = retry;
    }
    if (nodeArgs !== null) {
      // A batch of heartbeats only: no CAS round carried the node update.
      const { groups } = await pipelineByNode(this.redis, [nodesKey(this.region)], (p) =>
        (p as unknown as PipelineWithScripts).atpNodeMax(nodesKey(this.region), ...(nodeArgs ?? [0])),
      );
      for (const g of groups) writtenTo.set(g.primary ?? '', g);
    }
    if (work.size > 0) {
      throw new AtpError(
        ADAPTERS_ERR.REDIS_CAS_CONFLICT,
        `compare-and-set kept conflicting on ${work.size} SKU(s)`,
      );
    }
    // Even a conflict-free batch waits: its writes are not durable until the replicas have them.
    if (this.replicated) await waitForReplicas(this.redis, [...writtenTo.values()], REPLICA_ACK_TIMEOUT_MS);
    report.skusWithPending = [...withPending].sort();
  }
}

type PipelineWithScripts = {
  atpCasPacked(key: string, packed: Buffer): unknown;
  atpNodeMax(key: string, ...args: (string | number)[]): unknown;
};

/** NODE_MAX_LUA's arguments for the node records of one batch. */
function nodeMaxArgs(nodeRecs: Map<string, Float64Array>): (string | number)[] {
  const args: (string | number)[] = [nodeRecs.size];
  for (const [node, r] of nodeRecs)
    args.push(node, r[N.lastHeartbeatMs]!, r[N.lastEventMs]!, r[N.heartbeats]!);
  return args;
}
