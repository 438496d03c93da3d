/**
 * The latest published snapshot for every watch stream of this replica.
 * Learns of new versions two ways: at once from this replica's change
 * service (`publish`), and by polling the store every WATCH_POLL_MS for
 * versions other replicas published (PostgreSQL HA). Caches the encoded
 * full snapshot per version and the encoded delta per (from, to) pair, so
 * a fan-out to many sidecars diffs and serializes once.
 */
import { type ControlSnapshot, controlSnapshotToJson } from '@mercato/proto/v1/control-snapshot';
import { diffSnapshots } from '@mercato/proto/v1/snapshot-delta';
import { snapshotFromRow } from '../snapshot/snapshot-publisher.js';
import type { ControlStore } from '../store/control-store.js';

export const WATCH_POLL_MS = 250;
/** Encoded deltas kept (pairs of versions); watchers mostly ask for the same few. */
const DELTA_CACHE_ENTRIES = 64;
/** Historical snapshots kept decoded for resumes. */
const SNAPSHOT_CACHE_ENTRIES = 16;

export type SnapshotListener = (s: ControlSnapshot) => void;

export class WatchHub {
  private current: ControlSnapshot | null = null;
  private currentJson: Buffer | null = null;
  private readonly listeners = new Set<SnapshotListener>();
  private readonly deltas = new Map<string, Buffer>();
  private readonly history = new Map<number, ControlSnapshot>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  /** Poll failures in a row (the store is down): status shows it. */
  pollFailures = 0;

  constructor(
    private readonly store: ControlStore,
    private readonly pollMs = WATCH_POLL_MS,
    private readonly onPollError?: (err: Error) => void,
  ) {}

  async start(initial: ControlSnapshot): Promise<void> {
    this.publish(initial);
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  get latest(): ControlSnapshot {
    if (this.current === null) throw new Error('WatchHub used before start()');
    return this.current;
  }

  /** The latest snapshot's JSON bytes (FullSnapshot.snapshot_json). */
  get latestJson(): Buffer {
    if (this.currentJson === null) throw new Error('WatchHub used before start()');
    return this.currentJson;
  }

  /** A newer version: becomes latest and every listener hears of it. Older or equal versions are ignored. */
  publish(s: ControlSnapshot): void {
    if (this.current !== null && s.version <= this.current.version) return;
    if (this.current !== null) this.remember(this.current);
    this.current = s;
    this.currentJson = Buffer.from(JSON.stringify(controlSnapshotToJson(s)));
    for (const l of this.listeners) l(s);
  }

  subscribe(l: SnapshotListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** A past version, from memory or the store; null when pruned or unknown. */
  async snapshotAt(version: number): Promise<ControlSnapshot | null> {
    if (this.current?.version === version) return this.current;
    const cached = this.history.get(version);
    if (cached !== undefined) return cached;
    const row = await this.store.read((tx) => tx.snapshot(version));
    if (row === undefined) return null;
    const s = snapshotFromRow(row);
    this.remember(s);
    return s;
  }

  /** JSON bytes of the delta from `from` to `to` (SnapshotDelta.delta_json), computed once per pair. */
  deltaJson(from: ControlSnapshot, to: ControlSnapshot): Buffer {
    const key = `${from.version}:${from.contentHash}>${to.version}`;
    let b = this.deltas.get(key);
    if (b === undefined) {
      b = Buffer.from(JSON.stringify(diffSnapshots(from, to)));
      this.deltas.set(key, b);
      if (this.deltas.size > DELTA_CACHE_ENTRIES) this.deltas.delete(this.deltas.keys().next().value!);
    }
    return b;
  }

  /** Picks up versions published by other replicas. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const latest = await this.store.read(async (tx) => {
        const v = await tx.latestVersion();
        return v > (this.current?.version ?? 0) ? tx.snapshot(v) : undefined;
      });
      this.pollFailures = 0;
      if (latest !== undefined) this.publish(snapshotFromRow(latest));
    } catch (err) {
      this.pollFailures++;
      this.onPollError?.(err as Error);
    } finally {
      this.polling = false;
    }
  }

  private remember(s: ControlSnapshot): void {
    this.history.set(s.version, s);
    if (this.history.size > SNAPSHOT_CACHE_ENTRIES) this.history.delete(this.history.keys().next().value!);
  }
}
