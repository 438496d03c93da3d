/**
 * `atp-evaluate report`'s business-impact flags, validated into the report's
 * options (errors name the flag), and the writing of the HTML and JSON files.
 * Unit economics come from `--economics FILE.json` ({"margin_per_sale",
 * "cost_per_oversell", "cost_per_cancellation", "currency"}, every key
 * optional) and are overridden one by one by the three flags.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { AtpError } from '@mercato/platform/errors';
import { flagError, listFlag, numberFlag } from '@mercato/platform/flags';
import type { AggregateRow } from './join/sqlite-join-store.js';
import { SqliteJoinStore } from './join/sqlite-join-store.js';
import {
  type BusinessImpactOptions,
  type BusinessImpactReport,
  buildBusinessImpact,
  DEFAULT_ECONOMICS,
  type UnitEconomics,
} from './report/business-impact.js';
import { renderBusinessImpactHtml } from './report/business-impact-html.js';
import { DEFAULT_SEQUENTIAL_ALPHA } from './stats/two-proportion-msprt.js';

/** Money amounts are per unit; anything above this is a typo (cents for euros...). */
const MAX_UNIT_AMOUNT = 1e7;
const CURRENCY_RE = /^[A-Za-z]{3}$/;
const OPTION_FLAGS: Record<string, string> = {
  controlArm: '--control-arm',
  expectedShares: '--expected-shares',
};
const ECONOMICS_KEYS = ['margin_per_sale', 'cost_per_oversell', 'cost_per_cancellation', 'currency'] as const;

export interface RawImpactFlags {
  html?: string;
  jsonFile?: string;
  controlArm?: string;
  expectedShares?: string;
  marginPerSale?: string;
  costPerOversell?: string;
  costPerCancellation?: string;
  currency?: string;
  economics?: string;
  preDb?: string;
  alpha?: string;
}

/** True when any business-impact output was asked for. */
export function wantsImpact(f: RawImpactFlags): boolean {
  return f.html !== undefined || f.jsonFile !== undefined;
}

export function economicsFromFlags(f: RawImpactFlags): UnitEconomics {
  let base: UnitEconomics = DEFAULT_ECONOMICS;
  if (f.economics !== undefined) base = economicsFile(f.economics);
  const amount = (raw: string | undefined, flag: string, dflt: number) =>
    numberFlag(raw, flag, { min: 0, max: MAX_UNIT_AMOUNT }, dflt);
  const currency = f.currency ?? base.currency;
  if (!CURRENCY_RE.test(currency))
    throw flagError('--currency', `expected a 3-letter code, got "${currency}"`);
  return {
    marginPerSale: amount(f.marginPerSale, '--margin-per-sale', base.marginPerSale),
    costPerOversell: amount(f.costPerOversell, '--cost-per-oversell', base.costPerOversell),
    costPerCancellation: amount(f.costPerCancellation, '--cost-per-cancellation', base.costPerCancellation),
    currency: currency.toUpperCase(),
  };
}

function economicsFile(path: string): UnitEconomics {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw flagError('--economics', `${path}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw flagError('--economics', `${path}: expected a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!(ECONOMICS_KEYS as readonly string[]).includes(k)) {
      throw flagError('--economics', `${path}: unknown key "${k}" (known: ${ECONOMICS_KEYS.join(', ')})`);
    }
  }
  const num = (k: string, dflt: number) => {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_UNIT_AMOUNT) {
      throw flagError('--economics', `${path}: ${k} must be a number 0..${MAX_UNIT_AMOUNT}`);
    }
    return v;
  };
  const currency = o.currency === undefined ? DEFAULT_ECONOMICS.currency : o.currency;
  if (typeof currency !== 'string') throw flagError('--economics', `${path}: currency must be a string`);
  return {
    marginPerSale: num('margin_per_sale', DEFAULT_ECONOMICS.marginPerSale),
    costPerOversell: num('cost_per_oversell', DEFAULT_ECONOMICS.costPerOversell),
    costPerCancellation: num('cost_per_cancellation', DEFAULT_ECONOMICS.costPerCancellation),
    currency,
  };
}

/** `arm=share,arm=share`: the planned traffic split (normalised to sum 1). */
export function sharesFromFlag(raw: string | undefined): Record<string, number> | undefined {
  if (raw === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of listFlag(raw, '--expected-shares')) {
    const [arm, share, ...rest] = part.split('=');
    const n = Number(share);
    if (arm === undefined || arm === '' || rest.length > 0 || !(n > 0) || !Number.isFinite(n)) {
      throw flagError('--expected-shares', `expected arm=share with share > 0, got "${part}"`);
    }
    out[arm] = n;
  }
  return out;
}

export function impactOptions(
  f: RawImpactFlags,
  confidence: number,
  controlArm: string | undefined,
): BusinessImpactOptions {
  let preRows: AggregateRow[] | undefined;
  if (f.preDb !== undefined) {
    const pre = new SqliteJoinStore(f.preDb, { readonly: true });
    try {
      preRows = pre.aggregates();
    } finally {
      pre.close();
    }
  }
  const shares = sharesFromFlag(f.expectedShares);
  return {
    confidence,
    alpha: numberFlag(f.alpha, '--alpha', { min: 1e-6, max: 0.5 }, DEFAULT_SEQUENTIAL_ALPHA),
    economics: economicsFromFlags(f),
    ...(controlArm === undefined ? {} : { controlArm }),
    ...(shares === undefined ? {} : { expectedShares: shares }),
    ...(preRows === undefined ? {} : { preRows }),
  };
}

/** Builds the report from the store (rows already filtered by region) and writes the files asked for. */
export function writeImpact(
  store: SqliteJoinStore,
  rows: readonly AggregateRow[],
  f: RawImpactFlags,
  options: BusinessImpactOptions,
): string[] {
  let report: BusinessImpactReport;
  try {
    report = buildBusinessImpact(rows, store.armDecisions(), options);
  } catch (err) {
    // The options the store alone can refute (an absent control arm, an arm without a share) name their flag.
    const flag = err instanceof AtpError ? OPTION_FLAGS[err.field ?? ''] : undefined;
    if (flag !== undefined) throw flagError(flag, (err as Error).message.replace(/^\w+: /, ''));
    throw err;
  }
  const written: string[] = [];
  if (f.jsonFile !== undefined) {
    writeFileSync(f.jsonFile, `${JSON.stringify(report, null, 2)}\n`);
    written.push(f.jsonFile);
  }
  if (f.html !== undefined) {
    writeFileSync(f.html, renderBusinessImpactHtml(report));
    written.push(f.html);
  }
  return written;
}
