/**
 * `atpctl shadow report`: disagreements between the model and the
 * rules baseline, read from sidecar decision logs (NDJSON, schema
 * atp.decision-log.v1, sidecar/src/decision-log/decision-log-record.ts).
 * Each record carries both sides' answers: `model_decision` (null when no
 * model scored) and `baseline_decision`, plus `enforced` (the side that
 * answered) and `mode` (shadow routes enforce nothing). A disagreement is a
 * record where both sides answered and differ; its reasons are the item
 * reasons of the side that denied (why one side said no). Works offline on
 * files: decision logs stay in their region (DESIGN.md §7).
 */
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const DECISION_LOG_SCHEMA = 'atp.decision-log.v1';
export const DEFAULT_SAMPLES = 5;
/** Files in a folder that are read (the sidecar's --decision-log writes whatever name it is given). */
const LOG_FILE_RE = /\.(ndjson|jsonl|log)$/;

type Decision = 'allow' | 'deny';

export interface ShadowReport {
  files: string[];
  records: number;
  /** Lines that were not decision-log records (other JSON, partial lines). */
  skippedLines: number;
  /** Records where both the model and the baseline answered. */
  compared: number;
  disagreements: number;
  disagreementRate: number;
  /** model allow + baseline deny: the model would promise what the rules refuse (oversell risk). */
  modelAllowsBaselineDenies: number;
  /** model deny + baseline allow: the model would refuse what the rules promise (lost sales). */
  modelDeniesBaselineAllows: number;
  /** By the side in force: a disagreement where the baseline was enforced is one the shadow model would have changed. */
  byEnforced: Record<string, { compared: number; disagreements: number }>;
  byMode: Record<string, { compared: number; disagreements: number }>;
  byModelVersion: Record<string, { compared: number; disagreements: number }>;
  byRegion: Record<string, { compared: number; disagreements: number }>;
  /** Reasons given by the denying side on disagreeing items, most frequent first. */
  reasons: { side: 'model' | 'baseline'; reason: string; count: number }[];
  samples: {
    decisionId: string;
    region: string;
    model: Decision;
    baseline: Decision;
    enforced: string;
    mode: string;
    skus: string[];
  }[];
}

export function logFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (LOG_FILE_RE.test(f)) out.push(join(p, f));
    } else {
      out.push(p);
    }
  }
  return out;
}

export async function shadowReport(
  paths: readonly string[],
  samples = DEFAULT_SAMPLES,
): Promise<ShadowReport> {
  const files = logFiles(paths);
  const r: ShadowReport = {
    files,
    records: 0,
    skippedLines: 0,
    compared: 0,
    disagreements: 0,
    disagreementRate: 0,
    modelAllowsBaselineDenies: 0,
    modelDeniesBaselineAllows: 0,
    byEnforced: {},
    byMode: {},
    byModelVersion: {},
    byRegion: {},
    reasons: [],
    samples: [],
  };
  const reasons = new Map<string, number>();
  for (const f of files) {
    const lines = createInterface({ input: createReadStream(f), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        r.skippedLines++;
        continue;
      }
      if (rec.schema !== DECISION_LOG_SCHEMA) {
        r.skippedLines++;
        continue;
      }
      r.records++;
      const model = rec.model_decision;
      const baseline = rec.baseline_decision;
      if ((model !== 'allow' && model !== 'deny') || (baseline !== 'allow' && baseline !== 'deny')) continue;
      r.compared++;
      const differ = model !== baseline;
      const bump = (table: Record<string, { compared: number; disagreements: number }>, key: unknown) => {
        const k = typeof key === 'string' && key !== '' ? key : 'unknown';
        let row = table[k];
        if (row === undefined) {
          row = { compared: 0, disagreements: 0 };
          table[k] = row;
        }
        row.compared++;
        if (differ) row.disagreements++;
      };
      bump(r.byEnforced, rec.enforced);
      bump(r.byMode, rec.mode);
      bump(r.byModelVersion, rec.model_version);
      bump(r.byRegion, rec.region);
      if (!differ) continue;
      r.disagreements++;
      if (model === 'allow') r.modelAllowsBaselineDenies++;
      else r.modelDeniesBaselineAllows++;
      const denying: 'model' | 'baseline' = model === 'deny' ? 'model' : 'baseline';
      const skus: string[] = [];
      for (const it of Array.isArray(rec.items) ? (rec.items as Record<string, unknown>[]) : []) {
        const m = it.model as { available?: boolean; reasons?: unknown } | null;
        const b = it.baseline as { available?: boolean; reasons?: unknown } | null;
        if (m === null || b === null || m === undefined || b === undefined || m.available === b.available)
          continue;
        if (typeof it.sku === 'string') skus.push(it.sku);
        const side = denying === 'model' ? m : b;
        for (const reason of Array.isArray(side.reasons) ? side.reasons : []) {
          const key = `${denying}\u0000${String(reason)}`;
          reasons.set(key, (reasons.get(key) ?? 0) + 1);
        }
      }
      if (r.samples.length < samples) {
        r.samples.push({
          decisionId: String(rec.decision_id ?? ''),
          region: String(rec.region ?? ''),
          model,
          baseline,
          enforced: String(rec.enforced ?? ''),
          mode: String(rec.mode ?? ''),
          skus,
        });
      }
    }
  }
  r.disagreementRate = r.compared === 0 ? 0 : r.disagreements / r.compared;
  r.reasons = [...reasons.entries()]
    .map(([k, count]) => {
      const [side, reason] = k.split('\u0000') as ['model' | 'baseline', string];
      return { side, reason, count };
    })
    .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
  return r;
}

export function shadowReportToJson(r: ShadowReport): Record<string, unknown> {
  return {
    files: r.files,
    records: r.records,
    skipped_lines: r.skippedLines,
    compared: r.compared,
    disagreements: r.disagreements,
    disagreement_rate: r.disagreementRate,
    model_allows_baseline_denies: r.modelAllowsBaselineDenies,
    model_denies_baseline_allows: r.modelDeniesBaselineAllows,
    by_enforced: r.byEnforced,
    by_mode: r.byMode,
    by_model_version: r.byModelVersion,
    by_region: r.byRegion,
    reasons: r.reasons,
    samples: r.samples.map((s) => ({
      decision_id: s.decisionId,
      region: s.region,
      model: s.model,
      baseline: s.baseline,
      enforced: s.enforced,
      mode: s.mode,
      skus: s.skus,
    })),
  };
}
