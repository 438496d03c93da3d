/**
 * The latest published snapshot for every watch stream of this replica.
 * Learns of new versions two ways: at once from this replica's change
 * service (`publish`), and by polling the store every WATCH_POLL_MS for
 * versions other replicas published (PostgreSQL HA; a platform Periodic:
 * one poll at a time, a slow store delays the next instead of piling up).
 * Caches the encoded full snapshot per version and the encoded delta per
 * (from, to) pair, so a fan-out to many sidecars diffs and serializes once.
 * Every snapshot it hands out is signed by this replica's SnapshotSigner
 * (a delta carries the signature of the snapshot it produces).
 *
 * The same poll reads the store's revocation mark: when a token was revoked
 * (on any replica), `onRevocations` runs and must close that token's
 * streams BEFORE a version published after the revocation goes out.
 */
import { Periodic } from '@mercato/platform/periodic';
import { type ControlSnapshot, controlSnapshotToJson } from '@mercato/proto/v1/control-snapshot';
import { diffSnapshots } from '@mercato/proto/v1/snapshot-delta';
import { snapshotFromRow } from '../snapshot/snapshot-publisher.js';
import type { SnapshotSigner } from '../snapshot/snapshot-signer.js';
import type { ControlStore } from '../store/control-store.js';
import type { RevocationMark } from '../store/token-queries.js';

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
  private readonly poller: Periodic;
  private revocations: RevocationMark | null = null;
  /** Poll failures in a row (the store is down): readiness shows it. */
  pollFailures = 0;
  /** Set by the composition root: closes the streams of tokens revoked since the last poll. */
  onRevocations: (() => Promise<void>) | null = null;

  private signer: SnapshotSigner | null = null;

  constructor(
    private readonly store: ControlStore,
    pollMs = WATCH_POLL_MS,
    onPollError?: (err: unknown) => void,
  ) {
    this.poller = new Periodic({
      name: 'watch-hub-poll',
      intervalMs: pollMs,
      run: () => this.poll(),
      onError: (err) => {
        this.pollFailures++;
        onPollError?.(err);
      },
    });
  }

  /** Signs with `signer` from now on, publishes `initial` and starts polling. */
  async start(initial: ControlSnapshot, signer: SnapshotSigner): Promise<void> {
    this.signer = signer;
    this.revocations = await this.store.read((tx) => tx.tokens.revocationMark());
    this.publish(initial);
    await this.poller.start();
  }

  /** Stops polling (waiting for a poll in flight) and forgets every listener. */
  async stop(): Promise<void> {
    await this.poller.stop();
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

  /**
   * A newer version (signed here): becomes latest and every listener hears
   * of it. Older or equal versions are ignored, and so is a snapshot that
   * cannot be signed (stored before chaining: the publisher follows such a
   * snapshot with a chained copy at start).
   */
  publish(unsigned: ControlSnapshot): void {
    if (this.current !== null && unsigned.version <= this.current.version) return;
    const s = this.sign(unsigned);
    if (s === null) return;
    if (this.current !== null) this.remember(this.current);
    this.current = s;
    this.currentJson = Buffer.from(JSON.stringify(controlSnapshotToJson(s)));
    for (const l of this.listeners) l(s);
  }

  subscribe(l: SnapshotListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** A past version, signed, from memory or the store; null when pruned, unknown or unchained. */
  async snapshotAt(version: number): Promise<ControlSnapshot | null> {
    if (this.current?.version === version) return this.current;
    const cached = this.history.get(version);
    if (cached !== undefined) return cached;
    const row = await this.store.read((tx) => tx.snapshots.at(version));
    if (row === undefined) return null;
    const s = this.sign(snapshotFromRow(row));
    if (s === null) return null;
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
      const oldest = this.deltas.keys().next().value;
      if (this.deltas.size > DELTA_CACHE_ENTRIES && oldest !== undefined) this.deltas.delete(oldest);
    }
    return b;
  }

  /**
   * Picks up versions published and tokens revoked by other replicas, in
   * one read (so a revocation committed before a change is always seen no
   * later than that change); a failure is counted by the Periodic's onError.
   */
  private async poll(): Promise<void> {
    const { latest, mark } = await this.store.read(async (tx) => {
      const m = await tx.tokens.revocationMark();
      const v = await tx.snapshots.latestVersion();
      return { mark: m, latest: v > (this.current?.version ?? 0) ? await tx.snapshots.at(v) : undefined };
    });
    this.pollFailures = 0;
    const seen = this.revocations;
    if (seen === null || seen.revoked !== mark.revoked || seen.lastRevokedAtMs !== mark.lastRevokedAtMs) {
      await this.onRevocations?.();
      this.revocations = mark;
    }
    if (latest !== undefined) this.publish(snapshotFromRow(latest));
  }

  private sign(s: ControlSnapshot): ControlSnapshot | null {
    if (this.signer === null) throw new Error('WatchHub used before start()');
    return this.signer.sign(s);
  }

  private remember(s: ControlSnapshot): void {
    this.history.set(s.version, s);
    const oldest = this.history.keys().next().value;
    if (this.history.size > SNAPSHOT_CACHE_ENTRIES && oldest !== undefined) this.history.delete(oldest);
  }
}
