/**
 * An ordered, multi-valued header map with lowercase keys, behaving like
 * Envoy's HeaderMap as seen through the proxy-wasm ABI: `get` returns the
 * first value, `add` appends, `replace` sets the first and drops the others.
 */
import type { HeaderPairs } from './header-pairs.js';

export class HeaderMap {
  private entries: HeaderPairs = [];

  constructor(pairs: HeaderPairs = []) {
    this.setAll(pairs);
  }

  static fromRecord(record: Record<string, string | string[] | undefined>): HeaderMap {
    const map = new HeaderMap();
    for (const [k, v] of Object.entries(record)) {
      if (v === undefined) continue;
      for (const value of Array.isArray(v) ? v : [v]) map.add(k, value);
    }
    return map;
  }

  get size(): number {
    return this.entries.length;
  }

  get(key: string): string | undefined {
    const lower = key.toLowerCase();
    return this.entries.find(([k]) => k === lower)?.[1];
  }

  add(key: string, value: string): void {
    this.entries.push([key.toLowerCase(), value]);
  }

  replace(key: string, value: string): void {
    const lower = key.toLowerCase();
    const first = this.entries.findIndex(([k]) => k === lower);
    if (first < 0) {
      this.entries.push([lower, value]);
      return;
    }
    this.entries[first] = [lower, value];
    this.entries = this.entries.filter(([k], i) => k !== lower || i === first);
  }

  remove(key: string): void {
    const lower = key.toLowerCase();
    this.entries = this.entries.filter(([k]) => k !== lower);
  }

  setAll(pairs: HeaderPairs): void {
    this.entries = pairs.map(([k, v]) => [k.toLowerCase(), v]);
  }

  pairs(): HeaderPairs {
    return this.entries.map(([k, v]) => [k, v]);
  }

  /** Sum of key and value lengths, like Envoy's HeaderMap::byteSize. */
  byteSize(): number {
    return this.entries.reduce(
      (n, [k, v]) => n + Buffer.byteLength(k, 'latin1') + Buffer.byteLength(v, 'latin1'),
      0,
    );
  }
}
