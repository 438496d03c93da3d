/**
 * Regional feature store in Redis (DESIGN.md §3, §6). The ingester writes with
 * `applyEvents` (read, fold with the shared feature module, compare-and-set);
 * the sidecar reads all candidates of a SKU with one HGETALL. Node liveness is
 * read from a process-local copy of the nodes hash refreshed on a timer, since
 * it is not in the SKU's cluster slot and changes on a seconds scale.
 *
 * The client must fail fast (see createRedisClient): a read that cannot be
 * answered within its command timeout rejects, and the caller degrades.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { applyToNode } from '@mercato/features/feature-state';
import { N, NODE_RECORD_WIDTH, RECORD_WIDTH } from '@mercato/features/record-layout';
import {
  applyToPair,
  flushPairGap,
  newSequenceStats,
  type PairEntry,
  type SequenceStats,
} from '@mercato/features/sequenced-apply';
import type { FeatureReader, SkuView } from '@mercato/features/store-ports';
import { HEARTBEAT_SKU, type InventoryEvent } from '@mercato/proto/v1/inventory-event';
import type { Redis } from 'ioredis';
import { CAS_PAIRS_LUA, NODE_MAX_LUA } from './lua-scripts.js';
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

/** Node liveness changes every heartbeat period (tens of seconds); a 1 s copy is fresh enough. */
export const NODE_REFRESH_MS = 1_000;
/** Compare-and-set rounds before a batch is reported as failed (the ingester then does not commit). */
export const MAX_CAS_ROUNDS = 8;
/** Random pause before a CAS retry, times the round: two writers in lockstep must drift apart. */
export const CAS_RETRY_JITTER_MS = 4;

export class RedisCasConflictError extends Error {
  readonly code = 'ATP_ERR_REDIS_CAS_CONFLICT';
  readonly retriable = true;
}

export interface ApplyReport extends SequenceStats {
  heartbeats: number;
  casRetries: number;
  /** SKUs that still hold out-of-order events (candidates for flushGaps). */
  skusWithPending: string[];
}

type RedisWithScripts = Redis & {
  atpCasPairs(key: string, ...args: (string | Buffer | number)[]): Promise<number[]>;
  atpNodeMax(key: string, ...args: (string | number)[]): Promise<number>;
};

export class RedisFeatureStore implements FeatureReader {
  private readonly redis: RedisWithScripts;
  private nodeCache = new Map<string, Float64Array>();
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Time of the last successful node refresh (ms); 0 = never. */
  nodesRefreshedAtMs = 0;

  /**
   * `livenessClient` (optional) serves the periodic read of the whole nodes
   * hash, so it does not compete with (or time out under) a read client
   * profiled for a few ms per SKU read.
   */
  /** What this process last wrote per pair; see written-pair-cache.ts. */
  private readonly written: WrittenPairCache;

  constructor(
    redis: Redis,
    private readonly region: string,
    private readonly livenessClient: Redis = redis,
    options: { writeCachePairs?: number } = {},
  ) {
    this.written = new WrittenPairCache(options.writeCachePairs ?? DEFAULT_WRITE_CACHE_PAIRS);
    this.redis = redis as RedisWithScripts;
    if (typeof this.redis.atpCasPairs !== 'function') {
      redis.defineCommand('atpCasPairs', { numberOfKeys: 1, lua: CAS_PAIRS_LUA });
      redis.defineCommand('atpNodeMax', { numberOfKeys: 1, lua: NODE_MAX_LUA });
    }
  }

  /** Starts refreshing node liveness; resolves after the first refresh attempt. */
  async start(refreshMs = NODE_REFRESH_MS): Promise<void> {
    await this.refreshNodes().catch(() => undefined);
    this.refreshTimer = setInterval(() => {
      this.refreshNodes().catch(() => undefined);
    }, refreshMs);
    this.refreshTimer.unref();
  }

  stop(): void {
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
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
    await Promise.all([
      nodeRecs.size > 0 ? this.writeNodes(nodeRecs) : Promise.resolve(),
      this.casSkus(bySku, report, (entry, evs, st) => {
        for (const e of evs) applyToPair(entry, e, st);
      }),
    ]);
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

  private async writeNodes(nodeRecs: Map<string, Float64Array>): Promise<void> {
    const args: (string | number)[] = [nodeRecs.size];
    for (const [node, r] of nodeRecs)
      args.push(node, r[N.lastHeartbeatMs]!, r[N.lastEventMs]!, r[N.heartbeats]!);
    await this.redis.atpNodeMax(nodesKey(this.region), ...args);
  }

  /**
   * Read-fold-CAS for every SKU in `bySku`; the fold receives a pair entry,
   * that pair's events (empty for flushes) and counters for that pair.
   * Conflicting pairs are re-read and folded again from the same events, which
   * is safe because the fold is idempotent; only counters of written pairs count.
   */
  private async casSkus(
    bySku: Map<string, InventoryEvent[]>,
    report: ApplyReport,
    fold: (entry: PairEntry, events: InventoryEvent[], stats: SequenceStats) => void,
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
    for (let round = 0; round < MAX_CAS_ROUNDS && work.size > 0; round++) {
      if (round > 0) {
        report.casRetries++;
        await sleep(Math.random() * CAS_RETRY_JITTER_MS * round);
      }
      const skus = [...work.keys()];
      // Pairs this process wrote last need no read: fold onto the cached bytes and CAS against them.
      const cached = new Map<string, WrittenPair>();
      const read = this.redis.pipeline();
      const readSkus: string[] = [];
      for (const sku of skus) {
        const fields: string[] = [];
        for (const node of work.get(sku)!.keys()) {
          const hit = this.written.get(`${sku}|${node}`);
          if (hit !== undefined) cached.set(`${sku}|${node}`, hit);
          else fields.push(node, pendingField(node));
        }
        if (fields.length > 0) {
          read.hmgetBuffer(skuKey(this.region, sku), ...fields);
          readSkus.push(sku);
        }
      }
      const readResults = readSkus.length > 0 ? await execOrThrow(read) : [];
      const readBySku = new Map<string, (Buffer | null)[]>(
        readSkus.map((sku, i) => [sku, readResults[i] as (Buffer | null)[]]),
      );
      const write = this.redis.pipeline() as unknown as PipelineWithScripts;
      const planned: { sku: string; nodes: string[]; stats: SequenceStats[]; next: WrittenPair[] }[] = [];
      for (const sku of skus) {
        const values = readBySku.get(sku) ?? [];
        let vi = 0;
        const pairs = work.get(sku)!;
        const nodes = [...pairs.keys()];
        const plan = { sku, nodes, stats: [] as SequenceStats[], next: [] as WrittenPair[] };
        const args: (string | Buffer | number)[] = [nodes.length];
        for (const node of nodes) {
          const hit = cached.get(`${sku}|${node}`);
          let oldRec: Buffer | null;
          let oldPend: Buffer | string | null;
          if (hit !== undefined) {
            oldRec = hit.rec;
            oldPend = hit.pend;
          } else {
            oldRec = values[vi++] ?? null;
            oldPend = values[vi++] ?? null;
          }
          const entry: PairEntry = { rec: decodeRecord(oldRec), pending: decodePending(oldPend) };
          const st = newSequenceStats();
          fold(entry, pairs.get(node)!, st);
          const next = { rec: encodeRecord(entry.rec), pend: encodePending(entry.pending) };
          plan.stats.push(st);
          plan.next.push(next);
          args.push(node, oldRec ?? '', next.rec, pendingField(node), oldPend ?? '', next.pend);
        }
        planned.push(plan);
        write.atpCasPairs(skuKey(this.region, sku), ...args);
      }
      const writeResults = await execOrThrow(write as unknown as ReturnType<Redis['pipeline']>);
      const retry = new Map<string, Map<string, InventoryEvent[]>>();
      planned.forEach((plan, i) => {
        const conflicts = new Set(writeResults[i] as number[]);
        const again = new Map<string, InventoryEvent[]>();
        plan.nodes.forEach((node, ni) => {
          const key = `${plan.sku}|${node}`;
          if (conflicts.has(ni + 1)) {
            // Someone else wrote this pair: forget our copy, read it next round.
            this.written.delete(key);
            again.set(node, work.get(plan.sku)!.get(node)!);
            return;
          }
          const next = plan.next[ni]!;
          this.written.set(key, next);
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
    if (work.size > 0) {
      throw new RedisCasConflictError(`compare-and-set kept conflicting on ${work.size} SKU(s)`);
    }
    report.skusWithPending = [...withPending].sort();
  }
}

type PipelineWithScripts = { atpCasPairs(key: string, ...args: (string | Buffer | number)[]): unknown };

async function execOrThrow(p: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const results = await p.exec();
  if (results === null) throw new Error('redis pipeline was discarded');
  return results.map(([err, value]) => {
    if (err !== null) throw err;
    return value;
  });
}
