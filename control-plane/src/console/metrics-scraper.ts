/**
 * The overview's source: every SCRAPE_INTERVAL_MS the control plane reads
 * `/metrics` of the targets it was given (`--scrape region:kind:url`: the
 * region's sidecars, ingesters and evaluation service), and a sidecar's
 * recent hot SKUs (GET /v1/decisions/hot-skus, when it keeps recent
 * decisions); it turns each region's scrapes into one point of figures
 * (overview-figures.ts) in the bounded series (overview-series.ts). A target
 * that does not answer within SCRAPE_TIMEOUT_MS is counted down for that
 * tick and left out; nothing a target says can grow memory beyond the
 * series' bound. Also the route of the decision explorer: a decision id is
 * looked up in the region's sidecars.
 */
import { AtpError } from '@mercato/platform/errors';
import { Periodic } from '@mercato/platform/periodic';
import { ContractError } from '@mercato/proto/v1/validate';
import { ERR } from '../errors.js';
import { type ConsoleOutcome, outcomeFromEvaluation, parseServedFeatures } from './decision-outcome.js';
import { decisionsIn, indexScrape, overviewFigures, type Scrape, scrapeDelta } from './overview-figures.js';
import { type OverviewPoint, OverviewSeries } from './overview-series.js';
import { type PromSample, parsePrometheusText } from './prometheus-text.js';

export const SCRAPE_INTERVAL_MS = 1_000;
/** Longer than the interval is fine (a tick waits for its scrapes); a busy sidecar answers /metrics late. */
export const SCRAPE_TIMEOUT_MS = 3_000;
/** A /metrics body larger than this is refused (ours are a few tens of KiB). */
export const MAX_SCRAPE_BYTES = 4 * 1024 * 1024;
export const MAX_SCRAPE_TARGETS = 256;
export const SCRAPE_KINDS = ['sidecar', 'ingest', 'evaluation', 'other'] as const;
export type ScrapeKind = (typeof SCRAPE_KINDS)[number];

export interface ScrapeTarget {
  region: string;
  kind: ScrapeKind;
  /** Base URL (http or https); `/metrics` is appended. */
  url: string;
}

/** A region name as the registry spells it (the console checks its ?region= the same way). */
export const REGION_RE = /^[a-z][a-z0-9-]{0,62}$/;

/** `region:kind:url` (the --scrape flag) to a target; a ContractError names the field. */
export function parseScrapeTarget(raw: string, field = 'scrape'): ScrapeTarget {
  const m = /^([^:]+):([^:]+):(https?:\/\/.+)$/.exec(raw.trim());
  if (m === null) throw new ContractError(field, `expected region:kind:http(s)://host:port, got ${raw}`);
  const [, region, kind, url] = m as unknown as [string, string, string, string];
  if (!REGION_RE.test(region)) throw new ContractError(field, `bad region ${region} in ${raw}`);
  if (!(SCRAPE_KINDS as readonly string[]).includes(kind))
    throw new ContractError(field, `kind must be one of ${SCRAPE_KINDS.join(', ')} in ${raw}`);
  try {
    new URL(url);
  } catch {
    throw new ContractError(field, `bad URL ${url}`);
  }
  return { region, kind: kind as ScrapeKind, url: url.replace(/\/+$/, '') };
}

interface TargetState {
  target: ScrapeTarget;
  last: Scrape | undefined;
  /** When `last` was taken: a target's rate is over its own interval (a missed tick makes it longer). */
  lastAtMs: number;
}

export interface MetricsScraperOptions {
  targets: readonly ScrapeTarget[];
  intervalMs?: number;
  clock?: () => number;
  onError?: (target: ScrapeTarget, err: Error) => void;
}

export class MetricsScraper {
  readonly series = new OverviewSeries();
  private readonly states: TargetState[];
  private readonly periodic: Periodic;
  private readonly clock: () => number;

  constructor(private readonly opts: MetricsScraperOptions) {
    this.states = [];
    for (const t of opts.targets) this.add(t);
    this.clock = opts.clock ?? Date.now;
    this.periodic = new Periodic({
      name: 'console-scrape',
      intervalMs: opts.intervalMs ?? SCRAPE_INTERVAL_MS,
      run: () => this.tick(),
    });
  }

  get targets(): readonly ScrapeTarget[] {
    return this.states.map((s) => s.target);
  }

  /** Scrapes one more target from the next tick on (`npm start` adds its sidecar once it listens). */
  add(target: ScrapeTarget): void {
    if (this.states.length >= MAX_SCRAPE_TARGETS)
      throw new AtpError(ERR.CONFIG_INVALID, `at most ${MAX_SCRAPE_TARGETS} scrape targets`, 'scrape');
    this.states.push({ target, last: undefined, lastAtMs: 0 });
  }

  async start(): Promise<void> {
    // The first scrape comes one interval after start: a slow target never delays the control plane.
    await this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One scrape of every target, then one point per region. */
  async tick(): Promise<void> {
    if (this.states.length === 0) return;
    const nowMs = this.clock();
    const results = await Promise.all(this.states.map((s) => this.scrapeOne(s)));
    const regions = [...new Set(this.states.map((s) => s.target.region))];
    for (const region of regions) {
      const mine = results.filter((r) => r.state.target.region === region);
      const up = mine.filter((r) => r.samples !== null);
      const deltas = up.flatMap((r) => r.deltas);
      const current = up.flatMap((r) => r.samples ?? []);
      const rates = up.flatMap((r) => (r.decisionsPerS === null ? [] : [r.decisionsPerS]));
      const point: OverviewPoint = {
        region,
        atMs: nowMs,
        figures: overviewFigures(
          region,
          deltas,
          current,
          rates.length === 0 ? null : rates.reduce((a, x) => a + x, 0),
        ),
        hotSkus: mergeHot(up.flatMap((r) => r.hot)),
        targetsUp: up.length,
        targets: mine.length,
      };
      this.series.add(point);
    }
  }

  private async scrapeOne(state: TargetState): Promise<{
    state: TargetState;
    samples: PromSample[] | null;
    deltas: PromSample[];
    /** Decisions per second since this target's previous scrape (null: no previous one). */
    decisionsPerS: number | null;
    hot: { sku: string; decisions: number; hot: number }[];
  }> {
    try {
      const text = await getText(`${state.target.url}/metrics`);
      const samples = parsePrometheusText(text);
      const cur = indexScrape(samples);
      const deltas = scrapeDelta(state.last, cur);
      const atMs = this.clock();
      const intervalS = (atMs - state.lastAtMs) / 1_000;
      const decisionsPerS =
        state.last === undefined || intervalS <= 0 ? null : decisionsIn(deltas) / intervalS;
      state.last = cur;
      state.lastAtMs = atMs;
      const hot =
        state.target.kind === 'sidecar'
          ? await getText(`${state.target.url}/v1/decisions/hot-skus`)
              .then(
                (t) => (JSON.parse(t) as { skus: { sku: string; decisions: number; hot: number }[] }).skus,
              )
              .catch(() => [])
          : [];
      return { state, samples, deltas, decisionsPerS, hot };
    } catch (err) {
      // Down this tick: the next answer is differenced against the last one seen.
      this.opts.onError?.(state.target, err as Error);
      return { state, samples: null, deltas: [], decisionsPerS: null, hot: [] };
    }
  }

  /**
   * A decision's record from the sidecars of `region` (every sidecar target
   * when region is null): the first that has it answers; its served feature
   * rows are parsed and bounded (decision-outcome.ts). NOT_FOUND when none.
   */
  async decision(
    id: string,
    region: string | null,
  ): Promise<{ sidecar: string; region: string; record: unknown }> {
    const found = await this.fromSidecars(
      region,
      `/v1/decisions/${encodeURIComponent(id)}`,
      `decision ${id}`,
    );
    const record = found.record as Record<string, unknown> | null;
    if (record === null || typeof record !== 'object' || Array.isArray(record))
      throw new AtpError(ERR.UNAVAILABLE, `${found.sidecar}: the decision record is not an object`);
    try {
      record.served_features = parseServedFeatures(record.served_features);
    } catch (err) {
      // The rest of the record still shows; the explorer says why the rows do not.
      record.served_features = [];
      record.served_features_error = `${found.sidecar}: refused (${(err as Error).message.slice(0, 200)})`;
    }
    return found;
  }

  /** What the region's evaluation services (outcome join) know of the decision; null with a reason when nothing. */
  decisionOutcome(id: string, region: string): Promise<ConsoleOutcome> {
    const urls = this.targets.filter((t) => t.kind === 'evaluation' && t.region === region).map((t) => t.url);
    return outcomeFromEvaluation(urls, id, region);
  }

  /** Recent shadow disagreements (model side vs baseline) of the region's sidecars. */
  async disagreements(region: string | null, limit: number): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const t of this.sidecars(region)) {
      const body = await getText(`${t.url}/v1/decisions/disagreements?limit=${limit}`).catch(() => null);
      if (body !== null) out.push(...(JSON.parse(body) as { decisions: unknown[] }).decisions);
    }
    return out.slice(0, limit);
  }

  /** The evaluation report (GET /v1/evaluation) of each evaluation service of the region. */
  async evaluation(region: string | null): Promise<{ url: string; region: string; report: unknown }[]> {
    const targets = this.targets.filter(
      (t) => t.kind === 'evaluation' && (region === null || t.region === region),
    );
    const out = await Promise.all(
      targets.map(async (t) => ({
        url: t.url,
        region: t.region,
        report: await getText(`${t.url}/v1/evaluation`).then(
          (b) => JSON.parse(b) as unknown,
          (e: Error) => ({ error: e.message }),
        ),
      })),
    );
    return out;
  }

  private sidecars(region: string | null): ScrapeTarget[] {
    return this.targets.filter((t) => t.kind === 'sidecar' && (region === null || t.region === region));
  }

  private async fromSidecars(
    region: string | null,
    path: string,
    what: string,
  ): Promise<{ sidecar: string; region: string; record: unknown }> {
    const sidecars = this.sidecars(region);
    if (sidecars.length === 0)
      throw new AtpError(
        ERR.NOT_FOUND,
        `no sidecar of ${region ?? 'any region'} is known to the console (--scrape)`,
      );
    for (const t of sidecars) {
      const body = await getText(`${t.url}${path}`).catch(() => null);
      if (body !== null) return { sidecar: t.url, region: t.region, record: JSON.parse(body) as unknown };
    }
    throw new AtpError(
      ERR.NOT_FOUND,
      `${what}: not among the recent decisions of ${sidecars.length} sidecar(s)`,
    );
  }
}

/** Sums the hot-SKU counts of a region's sidecars and keeps the top ones. */
function mergeHot(xs: { sku: string; decisions: number; hot: number }[]): typeof xs {
  const m = new Map<string, { sku: string; decisions: number; hot: number }>();
  for (const x of xs) {
    const c = m.get(x.sku) ?? { sku: x.sku, decisions: 0, hot: 0 };
    c.decisions += x.decisions;
    c.hot += x.hot;
    m.set(x.sku, c);
  }
  return [...m.values()].sort((a, b) => b.decisions - a.decisions).slice(0, 10);
}

async function getText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
  if (!res.ok) {
    await res.arrayBuffer().catch(() => undefined);
    throw new Error(`${url}: HTTP ${res.status}`);
  }
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_SCRAPE_BYTES) throw new Error(`${url}: body over ${MAX_SCRAPE_BYTES} B`);
  const text = await res.text();
  if (text.length > MAX_SCRAPE_BYTES) throw new Error(`${url}: body over ${MAX_SCRAPE_BYTES} B`);
  return text;
}
