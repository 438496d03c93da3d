/**
 * `atpctl shadow report ... --outcomes FILE`: the shadow comparison joined
 * with what happened (issue 13 item 6). For each item where the model and
 * the rules baseline disagreed, the outcomes say which side was right:
 *
 * - the evidence is "the stock was there" (a fulfilled order outcome, else a
 *   stock truth `available: true`) or "it was not" (a short-picked outcome,
 *   else a truth `available: false`); a buyer or seller cancellation says
 *   nothing about stock, and an item with neither outcome nor truth stays
 *   undecided (a denied item has no order, so outside a simulated world only
 *   promised items can be decided);
 * - the side that allowed is right when the stock was there, the side that
 *   denied when it was not.
 *
 * Decisions come from sidecar decision logs (atp.decision-log.v1, per item
 * `model`, `baseline`, `final`) or the decision stream (atp.decision.v1, per
 * item `model_available`, `baseline_available`, `promised`), both in the same
 * files or folders the shadow report reads; outcomes from NDJSON files of
 * `order.outcomes.<region>` (order.outcome.v1 and order.stock-truth.v1). The
 * first outcome per (decision, sku) counts, as in the outcome join.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { DECISION_EVENT_SCHEMA } from '@mercato/proto/v1/decision-event';
import { ORDER_OUTCOME_SCHEMA, parseOutcome } from '@mercato/proto/v1/order-outcome';
import { parseStockTruth, STOCK_TRUTH_SCHEMA } from '@mercato/proto/v1/stock-truth';
import { DECISION_LOG_SCHEMA, logFiles } from './shadow-report.js';

export const DISAGREEMENT_CLASSES = ['model_allows_baseline_denies', 'model_denies_baseline_allows'] as const;
export type DisagreementClass = (typeof DISAGREEMENT_CLASSES)[number];

export interface ClassVerdicts {
  /** Disagreeing items of this class. */
  items: number;
  modelRight: number;
  baselineRight: number;
  /** No outcome or truth that says anything about the stock. */
  undecided: number;
  /** modelRight / (modelRight + baselineRight); null when nothing was decided. */
  modelRightShare: number | null;
  /** What decided: realized outcomes or stock truths. */
  evidence: { fulfilled: number; shortPicked: number; truthAvailable: number; truthUnavailable: number };
}

export interface ShadowVerdicts {
  outcomeFiles: string[];
  outcomes: number;
  truths: number;
  /** Outcome-file lines that were neither (other JSON, malformed records). */
  skippedOutcomeLines: number;
  classes: Record<DisagreementClass, ClassVerdicts>;
}

type Stock = 'there' | 'absent';
type Evidence = { stock: Stock; kind: keyof ClassVerdicts['evidence'] };

/** One decided item where both sides answered. */
interface ComparedItem {
  decisionId: string;
  sku: string;
  model: boolean;
  baseline: boolean;
}

async function* jsonLines(files: readonly string[]): AsyncGenerator<Record<string, unknown> | null> {
  for (const f of files) {
    const lines = createInterface({ input: createReadStream(f), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const v = JSON.parse(line) as unknown;
        yield typeof v === 'object' && v !== null && !Array.isArray(v)
          ? (v as Record<string, unknown>)
          : null;
      } catch {
        yield null;
      }
    }
  }
}

/** The compared items of one decision-log or decision-stream record (none for other records). */
export function comparedItems(rec: Record<string, unknown>): ComparedItem[] {
  const decisionId = rec.decision_id;
  if (typeof decisionId !== 'string' || !Array.isArray(rec.items)) return [];
  const out: ComparedItem[] = [];
  for (const raw of rec.items as unknown[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const it = raw as Record<string, unknown>;
    if (typeof it.sku !== 'string') continue;
    let model: unknown;
    let baseline: unknown;
    if (rec.schema === DECISION_LOG_SCHEMA) {
      model = (it.model as { available?: unknown } | null)?.available;
      baseline = (it.baseline as { available?: unknown } | null)?.available;
    } else if (rec.schema === DECISION_EVENT_SCHEMA) {
      model = it.model_available;
      baseline = it.baseline_available;
    }
    if (typeof model === 'boolean' && typeof baseline === 'boolean') {
      out.push({ decisionId, sku: it.sku, model, baseline });
    }
  }
  return out;
}

/** What the outcome files say about each (decision, sku): the first outcome, else the first truth. */
async function readEvidence(files: readonly string[], into: ShadowVerdicts): Promise<Map<string, Evidence>> {
  const fromOutcomes = new Map<string, Evidence | null>();
  const fromTruths = new Map<string, Evidence>();
  for await (const rec of jsonLines(files)) {
    try {
      if (rec?.schema === ORDER_OUTCOME_SCHEMA) {
        const o = parseOutcome(rec);
        into.outcomes++;
        const key = `${o.decisionId}\t${o.sku}`;
        if (fromOutcomes.has(key)) continue;
        fromOutcomes.set(
          key,
          o.status === 'fulfilled'
            ? { stock: 'there', kind: 'fulfilled' }
            : o.status === 'short-picked'
              ? { stock: 'absent', kind: 'shortPicked' }
              : null,
        );
        continue;
      }
      if (rec?.schema === STOCK_TRUTH_SCHEMA) {
        const s = parseStockTruth(rec);
        into.truths++;
        const key = `${s.decisionId}\t${s.sku}`;
        if (!fromTruths.has(key)) {
          fromTruths.set(
            key,
            s.available
              ? { stock: 'there', kind: 'truthAvailable' }
              : { stock: 'absent', kind: 'truthUnavailable' },
          );
        }
        continue;
      }
    } catch {
      // A malformed outcome is skipped and counted, like any other line that is not one.
    }
    into.skippedOutcomeLines++;
  }
  const out = new Map(fromTruths);
  for (const [k, e] of fromOutcomes) if (e !== null) out.set(k, e);
  return out;
}

function emptyClass(): ClassVerdicts {
  return {
    items: 0,
    modelRight: 0,
    baselineRight: 0,
    undecided: 0,
    modelRightShare: null,
    evidence: { fulfilled: 0, shortPicked: 0, truthAvailable: 0, truthUnavailable: 0 },
  };
}

/** Reads the decisions (files or folders) and outcome files and tallies which side each disagreement proved right. */
export async function shadowVerdicts(
  decisionPaths: readonly string[],
  outcomePaths: readonly string[],
): Promise<ShadowVerdicts> {
  const outcomeFiles = logFiles(outcomePaths);
  const v: ShadowVerdicts = {
    outcomeFiles,
    outcomes: 0,
    truths: 0,
    skippedOutcomeLines: 0,
    classes: { model_allows_baseline_denies: emptyClass(), model_denies_baseline_allows: emptyClass() },
  };
  const evidence = await readEvidence(outcomeFiles, v);
  const seen = new Set<string>();
  for await (const rec of jsonLines(logFiles(decisionPaths))) {
    if (rec === null) continue;
    for (const it of comparedItems(rec)) {
      if (it.model === it.baseline) continue;
      const key = `${it.decisionId}\t${it.sku}`;
      // A decision both logged and streamed, or re-delivered, counts once.
      if (seen.has(key)) continue;
      seen.add(key);
      const c = v.classes[it.model ? 'model_allows_baseline_denies' : 'model_denies_baseline_allows'];
      c.items++;
      const e = evidence.get(key);
      if (e === undefined) {
        c.undecided++;
        continue;
      }
      c.evidence[e.kind]++;
      const allowingSideRight = e.stock === 'there';
      if (allowingSideRight === it.model) c.modelRight++;
      else c.baselineRight++;
    }
  }
  for (const c of Object.values(v.classes)) {
    const decided = c.modelRight + c.baselineRight;
    c.modelRightShare = decided === 0 ? null : c.modelRight / decided;
  }
  return v;
}

export function shadowVerdictsToJson(v: ShadowVerdicts): Record<string, unknown> {
  return {
    outcome_files: v.outcomeFiles,
    outcomes: v.outcomes,
    truths: v.truths,
    skipped_outcome_lines: v.skippedOutcomeLines,
    classes: Object.fromEntries(
      DISAGREEMENT_CLASSES.map((k) => {
        const c = v.classes[k];
        return [
          k,
          {
            items: c.items,
            model_right: c.modelRight,
            baseline_right: c.baselineRight,
            undecided: c.undecided,
            model_right_share: c.modelRightShare,
            evidence: {
              fulfilled: c.evidence.fulfilled,
              short_picked: c.evidence.shortPicked,
              truth_available: c.evidence.truthAvailable,
              truth_unavailable: c.evidence.truthUnavailable,
            },
          },
        ];
      }),
    ),
  };
}

/** Text lines for the shadow report: one per class, saying which side the outcomes proved right. */
export function shadowVerdictsText(v: ShadowVerdicts): string[] {
  const label: Record<DisagreementClass, string> = {
    model_allows_baseline_denies: 'model allows / baseline denies',
    model_denies_baseline_allows: 'model denies / baseline allows',
  };
  return [
    `outcomes: ${v.outcomes} outcome(s), ${v.truths} stock truth(s) in ${v.outcomeFiles.length} file(s)`,
    ...DISAGREEMENT_CLASSES.map((k) => {
      const c = v.classes[k];
      const verdict =
        c.modelRightShare === null
          ? 'no outcome decided it'
          : c.modelRight > c.baselineRight
            ? `the model was right more often (${(c.modelRightShare * 100).toFixed(1)}%)`
            : c.modelRight < c.baselineRight
              ? `the baseline was right more often (${((1 - c.modelRightShare) * 100).toFixed(1)}%)`
              : 'a tie';
      return `  ${label[k]}: ${c.items} item(s); model right ${c.modelRight}, baseline right ${c.baselineRight}, undecided ${c.undecided}: ${verdict}`;
    }),
  ];
}
