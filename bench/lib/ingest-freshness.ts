/**
 * Freshness of the ingest path at a given event rate: event time to visible
 * through the sidecar's read path (RedisFeatureStore.readSku), measured with
 * probe events, against the ingest CLI in its own process.
 *
 * The paced producer runs for `warmupSeconds` first (the fresh ingester
 * compiles its code and settles its group; no probe is timed), then for
 * `seconds` with a first-party probe every PROBE_EVERY_MS. Each probe's
 * latency is split where the bench can see it: event time -> the
 * producer's acknowledgement (the bench's own producer and the broker),
 * and acknowledgement -> visible in readSku (fetch, apply, Redis, and the
 * poll that sees it). The ingester's CPU share over the timed window says
 * how loaded it really was.
 *
 * The mock keeps about 5 MB per partition: if the ingester falls further
 * behind than that, the oldest records are deleted before it reads them and
 * their probes are reported as never seen.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaEventProducer, KeyedRecord } from '../../adapters/src/kafka/kafka-event-producer.js';
import { createRedisClient } from '../../adapters/src/redis/redis-client.js';
import { RedisFeatureStore } from '../../adapters/src/redis/redis-feature-store.js';
import { R } from '../../features/src/record-layout.js';
import { encodeEvent, eventKey, type InventoryEvent } from '../../proto/v1/inventory-event.js';
import { mutationsTopic } from '../../proto/v1/topics.js';
import {
  histogramP99,
  percentile,
  progressBar,
  scrape,
  spawnIngester,
  stopIngester,
  sumOf,
} from './ingest-bench-kit.js';

/** SKU pool of the background traffic. */
const FRESH_SKUS = 20_000;
const FRESH_NODES = ['WH-1', 'WH-2', 'ST-1', 'ST-2', 'SL-1'];
const PROBE_SKUS = 50;
const PROBE_EVERY_MS = 20;
const PROBE_POLL_MS = 2;
/** Produce ticks of the paced producer. */
const TICK_MS = 10;
const PRODUCE_IN_FLIGHT = 8;
/** Probes not visible this long after the last one was produced count as never seen. */
const GIVE_UP_AFTER_MS = 30_000;

export interface FreshnessOptions {
  brokers: readonly string[];
  redisUrl: string;
  producer: KafkaEventProducer;
  ratePerS: number;
  seconds: number;
  warmupSeconds: number;
  /** Extra flags for the ingest CLI. */
  ingestArgs?: readonly string[];
  /** Shown in the report: e.g. "50% of measured capacity". */
  label: string;
}

export interface FreshnessResult {
  label: string;
  targetRatePerS: number;
  producedEvents: number;
  achievedRatePerS: number;
  seconds: number;
  probes: number;
  lost: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Event time -> producer acknowledged (p50 / p99). */
  produceAckP50Ms: number;
  produceAckP99Ms: number;
  /** Producer acknowledged -> visible in readSku (p50 / p99). */
  ackToVisibleP50Ms: number;
  ackToVisibleP99Ms: number;
  /** Mean time of one poll round over the outstanding probes (the detection resolution). */
  pollRoundMs: number;
  /** Ingester CPU seconds per wall second over the timed window (1 = one core busy). */
  ingesterCpuShare: number;
  /** Mean ingester batch duration and events per batch over the timed window. */
  ingesterBatchMs: number;
  ingesterEventsPerBatch: number;
  ingesterAgeP99BucketS: number | null;
  samplesMs: number[];
}

interface Probe {
  seq: number;
  eventTimeMs: number;
  ackMs: number;
}

export async function freshnessRun(o: FreshnessOptions): Promise<FreshnessResult> {
  const bar = progressBar('ingest.bench');
  const region = `bench-fresh-${process.pid}-${Math.round(o.ratePerS)}-${Date.now() % 100_000}`;
  const topic = mutationsTopic(region);
  // Create the topic, then let the ingester join before traffic starts.
  await o.producer.send(topic, [{ key: 'warmup', value: 'not an event' }]);
  const ing = await spawnIngester(o.brokers, o.redisUrl, region, o.ingestArgs ?? []);
  const reader = await createRedisClient(o.redisUrl, 'write');
  const store = new RedisFeatureStore(reader, region);
  const seq = new Map<string, number>();
  const nextSeq = (sku: string, node: string) => {
    const k = `${sku}|${node}`;
    const s = (seq.get(k) ?? 0) + 1;
    seq.set(k, s);
    return s;
  };
  // Outstanding probes: sku -> probes in sequence order.
  const outstanding = new Map<string, Probe[]>();
  const samples: number[] = [];
  const acks: number[] = [];
  const ackToVisible: number[] = [];
  let probesSent = 0;
  let lastProbeMs = 0;
  let running = true;
  let pollRounds = 0;
  let pollBusyMs = 0;
  const poller = (async () => {
    while (running || outstanding.size > 0) {
      const r0 = performance.now();
      await Promise.all(
        [...outstanding.keys()].map(async (sku) => {
          const view = await store.readSku(sku);
          const now = Date.now();
          if (view.nodeIds.length === 0) return;
          const visibleUpTo = (view.recs[R.nextSeq] ?? 1) - 1;
          const list = outstanding.get(sku);
          if (list === undefined) return;
          while (list.length > 0 && (list[0]?.seq ?? Number.POSITIVE_INFINITY) <= visibleUpTo) {
            const p = list.shift() as Probe;
            samples.push(now - p.eventTimeMs);
            if (p.ackMs > 0) ackToVisible.push(now - p.ackMs);
          }
          if (list.length === 0) outstanding.delete(sku);
        }),
      );
      pollRounds++;
      pollBusyMs += performance.now() - r0;
      if (!running && Date.now() - lastProbeMs > GIVE_UP_AFTER_MS) break;
      await sleep(PROBE_POLL_MS);
    }
  })();
  let rnd = 12345;
  const next = () => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return rnd / 4294967296;
  };
  const warmTotal = Math.round(o.ratePerS * o.warmupSeconds);
  const total = warmTotal + Math.round(o.ratePerS * o.seconds);
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  let produced = 0;
  let eventCounter = 0;
  let timedFromMs = 0;
  let m0 = new Map<string, number>();
  while (produced < total) {
    const dueByNow = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * o.ratePerS));
    const n = dueByNow - produced;
    if (n > 0) {
      const now = Date.now();
      const records: KeyedRecord[] = [];
      for (let i = 0; i < n; i++) {
        const sku = `F-${Math.floor(next() * FRESH_SKUS)}`;
        const node = FRESH_NODES[Math.floor(next() * FRESH_NODES.length)] ?? 'WH-1';
        const e: InventoryEvent = {
          eventId: `f-${++eventCounter}`,
          sku,
          node,
          kind: 'receipt',
          quantity: 1,
          sequence: nextSeq(sku, node),
          eventTimeMs: now,
          source: node.startsWith('SL') ? 'third-party' : 'first-party',
        };
        records.push({ key: eventKey(e), value: encodeEvent(e) });
      }
      const timed = produced >= warmTotal;
      if (timed && timedFromMs === 0) {
        timedFromMs = performance.now();
        m0 = await scrape(ing.port);
      }
      const probes: Probe[] = [];
      if (timed && now - lastProbeMs >= PROBE_EVERY_MS) {
        lastProbeMs = now;
        const sku = `PROBE-${probesSent % PROBE_SKUS}`;
        const e: InventoryEvent = {
          eventId: `probe-${probesSent}`,
          sku,
          node: 'WH-P',
          kind: 'receipt',
          quantity: 1,
          sequence: nextSeq(sku, 'WH-P'),
          eventTimeMs: now,
          source: 'first-party',
        };
        probesSent++;
        records.push({ key: eventKey(e), value: encodeEvent(e) });
        const probe = { seq: e.sequence, eventTimeMs: now, ackMs: 0 };
        probes.push(probe);
        const list = outstanding.get(sku) ?? [];
        list.push(probe);
        outstanding.set(sku, list);
      }
      const sent: Promise<void> = o.producer.send(topic, records).then(() => {
        const ackMs = Date.now();
        for (const p of probes) {
          p.ackMs = ackMs;
          acks.push(ackMs - p.eventTimeMs);
        }
        inFlight.delete(sent);
      });
      inFlight.add(sent);
      produced += n;
      bar(`freshness @ ${Math.round(o.ratePerS)}/s`, produced, total);
    }
    if (inFlight.size >= PRODUCE_IN_FLIGHT) await Promise.race(inFlight);
    await sleep(TICK_MS);
  }
  await Promise.all(inFlight);
  const timedSeconds = (performance.now() - timedFromMs) / 1000;
  const m1 = await scrape(ing.port);
  running = false;
  await poller;
  await stopIngester(ing);
  reader.disconnect();
  const delta = (name: string) => sumOf(m1, name) - sumOf(m0, name);
  const batches = delta('atp_ingest_batch_duration_seconds_count');
  const sorted = [...samples].sort((a, b) => a - b);
  const ackSorted = [...acks].sort((a, b) => a - b);
  const a2vSorted = [...ackToVisible].sort((a, b) => a - b);
  return {
    label: o.label,
    targetRatePerS: o.ratePerS,
    producedEvents: total - warmTotal,
    achievedRatePerS: (total - warmTotal) / timedSeconds,
    seconds: timedSeconds,
    probes: probesSent,
    lost: probesSent - samples.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN,
    produceAckP50Ms: percentile(ackSorted, 50),
    produceAckP99Ms: percentile(ackSorted, 99),
    ackToVisibleP50Ms: percentile(a2vSorted, 50),
    ackToVisibleP99Ms: percentile(a2vSorted, 99),
    pollRoundMs: pollRounds > 0 ? pollBusyMs / pollRounds : Number.NaN,
    ingesterCpuShare: delta('atp_ingest_process_cpu_seconds_total') / timedSeconds,
    ingesterBatchMs:
      batches > 0 ? (delta('atp_ingest_batch_duration_seconds_sum') / batches) * 1000 : Number.NaN,
    ingesterEventsPerBatch: batches > 0 ? delta('atp_ingest_messages_total') / batches : Number.NaN,
    ingesterAgeP99BucketS: histogramP99(m1, 'atp_ingest_event_age_seconds', 'first-party'),
    samplesMs: samples,
  };
}
