/**
 * The hold journal: every hold this sidecar granted, confirmed or released,
 * kept outside Redis so the holds can be written back after Redis lost them
 * (DESIGN.md §6 "Redis lost its state"; store-epoch-guard.ts replays it).
 *
 * The live holds are kept in memory (bounded by the holds alive at once:
 * their TTL times the hold rate); with a path, every change is also appended
 * to a file (one JSON array a line) so a sidecar restarted after the loss
 * still knows its holds. The file is compacted to the live holds when it
 * opens and whenever the appended records outnumber them COMPACT_RATIO times.
 * Appends go through the kernel without fsync: they survive a process crash,
 * not a machine crash (decisions.md).
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';

/** Compaction once the file holds this many records and COMPACT_RATIO times the live holds. */
export const COMPACT_MIN_RECORDS = 10_000;
export const COMPACT_RATIO = 4;

export interface JournaledHold {
  sku: string;
  nodeId: string;
  qty: number;
  holdId: string;
  /** Business ms. */
  expiresAtMs: number;
}

type Line =
  | ['H', string, string, number, string, number]
  | ['C', string, string, number]
  | ['R', string, string];

export class HoldJournal {
  private readonly live = new Map<string, JournaledHold>();
  private fd: number | null = null;
  private records = 0;

  /** `path` null: memory only (the holds survive a Redis loss, not a restart of this sidecar). */
  constructor(private readonly path: string | null = null) {}

  /** Loads the file (if any), drops holds expired at `nowMs`, rewrites it compacted and opens it for appends. */
  open(nowMs: number): void {
    if (this.path === null || this.fd !== null) return;
    if (existsSync(this.path)) {
      for (const text of readFileSync(this.path, 'utf8').split('\n')) {
        if (text === '') continue;
        try {
          this.apply(JSON.parse(text) as Line);
        } catch {
          // A torn last line (crash mid-append): the records before it stand.
        }
      }
    }
    for (const [k, h] of this.live) if (h.expiresAtMs <= nowMs) this.live.delete(k);
    this.compact();
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  hold(h: JournaledHold): void {
    this.write(['H', h.sku, h.nodeId, h.qty, h.holdId, h.expiresAtMs]);
  }

  confirm(sku: string, holdId: string, expiresAtMs: number): void {
    this.write(['C', sku, holdId, expiresAtMs]);
  }

  release(sku: string, holdId: string): void {
    if (this.live.has(`${sku}|${holdId}`)) this.write(['R', sku, holdId]);
  }

  /** Holds alive at `nowMs` (expired ones are dropped on the way). */
  liveHolds(nowMs: number): JournaledHold[] {
    const out: JournaledHold[] = [];
    for (const [k, h] of this.live) {
      if (h.expiresAtMs <= nowMs) this.live.delete(k);
      else out.push(h);
    }
    return out;
  }

  private write(line: Line): void {
    this.apply(line);
    if (this.fd === null) return;
    writeSync(this.fd, `${JSON.stringify(line)}\n`);
    if (++this.records >= COMPACT_MIN_RECORDS && this.records > COMPACT_RATIO * this.live.size)
      this.compact();
  }

  private apply(line: Line): void {
    const key = `${line[1]}|${line[2]}`;
    switch (line[0]) {
      case 'H':
        this.live.set(`${line[1]}|${line[4]}`, {
          sku: line[1],
          nodeId: line[2],
          qty: line[3],
          holdId: line[4],
          expiresAtMs: line[5],
        });
        return;
      case 'C': {
        const h = this.live.get(key);
        if (h !== undefined) h.expiresAtMs = line[3];
        return;
      }
      case 'R':
        this.live.delete(key);
        return;
    }
  }

  /** Rewrites the file with the live holds only (write to a temporary file, then rename). */
  private compact(): void {
    if (this.path === null) return;
    this.close();
    const tmp = `${this.path}.tmp`;
    const lines: string[] = [];
    for (const h of this.live.values())
      lines.push(JSON.stringify(['H', h.sku, h.nodeId, h.qty, h.holdId, h.expiresAtMs]));
    writeFileSync(tmp, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
    renameSync(tmp, this.path);
    this.fd = openSync(this.path, 'a');
    this.records = lines.length;
  }
}
