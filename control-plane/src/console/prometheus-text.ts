/**
 * A reader of the Prometheus text exposition format (what every /metrics of
 * ours serves through prom-client): samples keyed by name and labels, with
 * the metric type from its `# TYPE` line so the overview knows which series
 * are cumulative counters (differenced between scrapes) and which are gauges.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** The type of the family the sample belongs to (`_bucket`, `_sum`, `_count` of a histogram: histogram). */
  type: MetricType;
}

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/** Parses one exposition; lines it does not understand are skipped (a scrape must not fail on a comment). */
export function parsePrometheusText(text: string): PromSample[] {
  const types = new Map<string, MetricType>();
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).trim().split(/\s+/);
      if (name !== undefined && type !== undefined) types.set(name, type as MetricType);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    if (m === null) continue;
    const value = Number(m[4]);
    if (Number.isNaN(value)) continue;
    const name = m[1]!;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL_RE)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    out.push({ name, labels, value, type: typeOf(name, types) });
  }
  return out;
}

function typeOf(name: string, types: Map<string, MetricType>): MetricType {
  const own = types.get(name);
  if (own !== undefined) return own;
  for (const s of HISTOGRAM_SUFFIXES) {
    if (name.endsWith(s)) {
      const t = types.get(name.slice(0, -s.length));
      if (t === 'histogram' || t === 'summary') return t;
    }
  }
  return 'untyped';
}

/** A stable key of a sample: name{a="1",b="2"} with labels sorted. */
export function sampleKey(name: string, labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? name : `${name}{${keys.map((k) => `${k}="${labels[k]}"`).join(',')}}`;
}
