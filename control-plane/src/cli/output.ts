/** atpctl's human output: short lines and aligned tables; --json prints the API's JSON instead. */

export function table(rows: readonly (readonly string[])[], header?: readonly string[]): string {
  const all = header === undefined ? rows : [header, ...rows];
  if (all.length === 0) return '';
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

export function shortHash(h: unknown): string {
  const s = String(h ?? '');
  return s.startsWith('sha256:') ? `${s.slice(0, 19)}…` : s;
}

export function isoTime(ms: unknown): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-';
}

/** One line for an accepted change. */
export function changeLine(r: Record<string, unknown>): string {
  const s = r.snapshot as { version: number; content_hash: string };
  const what = `${r.action} ${r.target}`.trim();
  return r.changed
    ? `${what}: accepted, snapshot v${s.version} (${shortHash(s.content_hash)}) published to sidecars`
    : `${what}: accepted, nothing changed (already in force), snapshot stays v${s.version}`;
}
