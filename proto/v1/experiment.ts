/**
 * Experiments, version 1: the contract shared by the control plane (which
 * stores and publishes them), the sidecar (which maps a bucket to an arm and
 * applies the arm's policy) and the filter (which computes the bucket inside
 * the pod from the buyer or session key, so no user-level id ever reaches the
 * sidecar: DESIGN §7).
 *
 * - Bucket: FNV-1a 32 over the UTF-8 bytes of `<salt>:<buyer key>`, modulo
 *   BUCKETS (10 000, one per basis point). The filter computes the same
 *   (wasm-filter/assembly/experiments/); never the request id, which changes
 *   per request and would split one buyer across arms.
 * - Arm of a bucket: arms in their declared order own consecutive bucket
 *   ranges of `weight_bp` buckets each (the weights sum to 10 000).
 * - A stopped arm keeps its buckets (so the other arms' assignments do not
 *   move); they are served by the control arm's policy and tagged with no arm
 *   (`none`), outside the experiment's analysis.
 * - Decision events tag the arm as `<experiment id>:<arm name>` (armTag), so
 *   arms of different experiments never add up in the outcome join.
 */
import type { Thresholds } from './model-manifest.js';
import { parseRegionName } from './regions.js';
import {
  asObject,
  ContractError,
  type Obj,
  optString,
  reqArray,
  reqEnum,
  reqId,
  reqInt,
  reqNumber,
  reqString,
} from './validate.js';

export const BUCKETS = 10_000;
/** Weights are basis points of traffic; they sum to this. */
export const TOTAL_WEIGHT_BP = BUCKETS;
export const MAX_EXPERIMENT_ID_LENGTH = 48;
export const MAX_ARM_NAME_LENGTH = 15;
export const MAX_ARMS = 8;
export const MAX_EXPERIMENT_ROUTES = 16;
export const MAX_EXPERIMENT_REGIONS = 32;
export const MAX_SALT_LENGTH = 64;
/** The request header the filter reads the buyer key from; without one, SESSION_KEY_HEADER. */
export const BUYER_KEY_HEADER = 'x-atp-buyer-key';
export const SESSION_KEY_HEADER = 'x-atp-session';
export const ARM_KINDS = ['naive', 'champion', 'challenger'] as const;
export type ArmKind = (typeof ARM_KINDS)[number];
export const EXPERIMENT_STATES = ['draft', 'running', 'stopped'] as const;
export type ExperimentState = (typeof EXPERIMENT_STATES)[number];
export const ARM_STATES = ['active', 'stopped'] as const;
export type ArmState = (typeof ARM_STATES)[number];
/** Guardrail defaults (evaluation/src/stats/oversell-guardrail.ts has the same). */
export const DEFAULT_EXPERIMENT_GUARDRAIL = { enabled: true, alpha: 0.05, minPromisedPerArm: 500, margin: 0 };

/** Thresholds an arm overrides on its model's bundle (absent members keep the bundle's). */
export interface ThresholdOverrides {
  checkoutHot?: number;
  checkoutCold?: number;
  browseHot?: number;
  browseCold?: number;
  staleMargin?: number;
}

export interface ExperimentArm {
  name: string;
  kind: ArmKind;
  weightBp: number;
  /** Model the arm scores with (challenger: required; champion: absent = the active model). */
  modelVersion?: string;
  thresholds?: ThresholdOverrides;
  state: ArmState;
  stopReason?: string;
}

export interface GuardrailConfig {
  enabled: boolean;
  alpha: number;
  minPromisedPerArm: number;
  /** Excess oversell rate tolerated (absolute). */
  margin: number;
}

export interface Experiment {
  id: string;
  /** Bumped by every change (create = 1). */
  revision: number;
  state: ExperimentState;
  stopReason?: string;
  salt: string;
  /** Route prefixes the experiment covers. */
  routes: string[];
  /** Regions it runs in (validated against the region registry by the control plane). */
  regions: string[];
  arms: ExperimentArm[];
  guardrail: GuardrailConfig;
}

/** What the filter forwards to the sidecar in place of the buyer key. */
export interface ExperimentTag {
  id: string;
  bucket: number;
  /** The arm the filter mapped the bucket to (the sidecar checks it against its own mapping). */
  arm?: string;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The bucket (0..BUCKETS-1) of a buyer key under an experiment's salt. */
export function experimentBucket(salt: string, buyerKey: string): number {
  const bytes = Buffer.from(`${salt}:${buyerKey}`, 'utf8');
  let h = FNV_OFFSET_BASIS;
  for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME) >>> 0;
  return h % BUCKETS;
}

/** The arm owning a bucket (arms own consecutive ranges in declared order). */
export function armForBucket<A extends { weightBp: number }>(arms: readonly A[], bucket: number): A | null {
  let upper = 0;
  for (const a of arms) {
    upper += a.weightBp;
    if (bucket < upper) return a;
  }
  return null;
}

/** The arm an experiment compares treatments against: its champion, else its naive arm. */
export function controlArm(e: Pick<Experiment, 'arms'>): ExperimentArm | null {
  return e.arms.find((a) => a.kind === 'champion') ?? e.arms.find((a) => a.kind === 'naive') ?? null;
}

/** The arm label decision events and the outcome join carry. */
export function armTag(experimentId: string, arm: string): string {
  return `${experimentId}:${arm}`;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]*$/;
/** The snapshot's route prefix rule (control-snapshot.ts ROUTE_PREFIX_RE; not imported: that module imports this one). */
const ROUTE_RE = /^\/[A-Za-z0-9\-._~!$()*+,;=:@%/]*$/;
const MAX_ROUTE_LENGTH = 256;

function reqName(o: Obj, key: string, prefix: string, max: number): string {
  const v = reqString(o, key, prefix, max);
  if (!NAME_RE.test(v)) {
    throw new ContractError(
      prefix === '' ? key : `${prefix}.${key}`,
      'lower-case letters, digits and "-" only, starting with a letter or digit',
    );
  }
  return v;
}

function optUnit(o: Obj, key: string, prefix: string): number | undefined {
  return o[key] === undefined || o[key] === null ? undefined : reqNumber(o, key, prefix, 0, 1);
}

export function parseThresholdOverrides(raw: unknown, p: string): ThresholdOverrides {
  const o = asObject(raw, p);
  const out: ThresholdOverrides = {};
  const set = (k: keyof ThresholdOverrides, json: string) => {
    const v = optUnit(o, json, p);
    if (v !== undefined) out[k] = v;
  };
  set('checkoutHot', 'checkout_hot');
  set('checkoutCold', 'checkout_cold');
  set('browseHot', 'browse_hot');
  set('browseCold', 'browse_cold');
  set('staleMargin', 'stale_margin');
  for (const k of Object.keys(o)) {
    if (!['checkout_hot', 'checkout_cold', 'browse_hot', 'browse_cold', 'stale_margin'].includes(k))
      throw new ContractError(`${p}.${k}`, 'unknown threshold');
  }
  return out;
}

export function thresholdOverridesToJson(t: ThresholdOverrides): Record<string, number> {
  const out: Record<string, number> = {};
  if (t.checkoutHot !== undefined) out.checkout_hot = t.checkoutHot;
  if (t.checkoutCold !== undefined) out.checkout_cold = t.checkoutCold;
  if (t.browseHot !== undefined) out.browse_hot = t.browseHot;
  if (t.browseCold !== undefined) out.browse_cold = t.browseCold;
  if (t.staleMargin !== undefined) out.stale_margin = t.staleMargin;
  return out;
}

/** A bundle's thresholds with an arm's overrides applied. */
export function applyThresholdOverrides(t: Thresholds, o: ThresholdOverrides): Thresholds {
  return {
    ...t,
    checkout: { hot: o.checkoutHot ?? t.checkout.hot, cold: o.checkoutCold ?? t.checkout.cold },
    browse: { hot: o.browseHot ?? t.browse.hot, cold: o.browseCold ?? t.browse.cold },
    staleMargin: o.staleMargin ?? t.staleMargin,
  };
}

export function parseArm(raw: unknown, p: string): ExperimentArm {
  const o = asObject(raw, p);
  const kind = reqEnum(o, 'kind', p, ARM_KINDS);
  const arm: ExperimentArm = {
    name: reqName(o, 'name', p, MAX_ARM_NAME_LENGTH),
    kind,
    weightBp: reqInt(o, 'weight_bp', p, 0, TOTAL_WEIGHT_BP),
    state: o.state === undefined ? 'active' : reqEnum(o, 'state', p, ARM_STATES),
  };
  const model =
    o.model_version === undefined || o.model_version === null ? undefined : reqId(o, 'model_version', p);
  if (model !== undefined) {
    if (kind === 'naive') throw new ContractError(`${p}.model_version`, 'a naive arm uses no model');
    arm.modelVersion = model;
  } else if (kind === 'challenger') {
    throw new ContractError(`${p}.model_version`, 'a challenger needs a model version');
  }
  if (o.thresholds !== undefined && o.thresholds !== null) {
    if (kind === 'naive') throw new ContractError(`${p}.thresholds`, 'a naive arm has no thresholds');
    arm.thresholds = parseThresholdOverrides(o.thresholds, `${p}.thresholds`);
  }
  const why = optString(o, 'stop_reason', p, 1024);
  if (why !== undefined) arm.stopReason = why;
  return arm;
}

export function parseGuardrail(raw: unknown, p: string): GuardrailConfig {
  if (raw === undefined || raw === null) return { ...DEFAULT_EXPERIMENT_GUARDRAIL };
  const o = asObject(raw, p);
  const d = DEFAULT_EXPERIMENT_GUARDRAIL;
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean')
    throw new ContractError(`${p}.enabled`, 'expected true or false');
  return {
    enabled: o.enabled === undefined ? d.enabled : (o.enabled as boolean),
    alpha: o.alpha === undefined ? d.alpha : reqNumber(o, 'alpha', p, 1e-6, 0.5),
    minPromisedPerArm:
      o.min_promised_per_arm === undefined
        ? d.minPromisedPerArm
        : reqInt(o, 'min_promised_per_arm', p, 1, 1e9),
    margin: o.margin === undefined ? d.margin : reqNumber(o, 'margin', p, 0, 0.5),
  };
}

/** Checks what holds for every experiment: unique arm names, weights summing to 10 000, one control. */
export function checkArms(arms: readonly ExperimentArm[], p: string): void {
  const names = new Set<string>();
  let total = 0;
  arms.forEach((a, i) => {
    if (names.has(a.name)) throw new ContractError(`${p}[${i}].name`, `arm "${a.name}" appears twice`);
    names.add(a.name);
    total += a.weightBp;
  });
  if (total !== TOTAL_WEIGHT_BP)
    throw new ContractError(`${p}`, `weight_bp must sum to ${TOTAL_WEIGHT_BP}, got ${total}`);
  for (const kind of ['naive', 'champion'] as const) {
    if (arms.filter((a) => a.kind === kind).length > 1) throw new ContractError(p, `at most one ${kind} arm`);
  }
  if (controlArm({ arms: [...arms] }) === null)
    throw new ContractError(p, 'needs a control: a champion or a naive arm');
}

/** Parses the JSON form; throws ContractError naming the field (`prefix` before each name). */
export function parseExperiment(raw: unknown, prefix = ''): Experiment {
  const p = (k: string) => (prefix === '' ? k : `${prefix}.${k}`);
  const o = asObject(raw, prefix === '' ? '$' : prefix);
  const arms = reqArray(o, 'arms', prefix, 2, MAX_ARMS).map((a, i) => parseArm(a, p(`arms[${i}]`)));
  checkArms(arms, p('arms'));
  const routes = reqArray(o, 'routes', prefix, 1, MAX_EXPERIMENT_ROUTES).map((r, i) => {
    if (typeof r !== 'string' || r.length > MAX_ROUTE_LENGTH || !ROUTE_RE.test(r))
      throw new ContractError(p(`routes[${i}]`), 'expected a route prefix: "/" then URL path characters');
    return r;
  });
  const regions = reqArray(o, 'regions', prefix, 1, MAX_EXPERIMENT_REGIONS).map((r, i) =>
    parseRegionName(typeof r === 'string' ? r : '', p(`regions[${i}]`)),
  );
  const e: Experiment = {
    id: reqName(o, 'id', prefix, MAX_EXPERIMENT_ID_LENGTH),
    revision: reqInt(o, 'revision', prefix, 1, Number.MAX_SAFE_INTEGER),
    state: reqEnum(o, 'state', prefix, EXPERIMENT_STATES),
    salt: reqId(o, 'salt', prefix, MAX_SALT_LENGTH),
    routes,
    regions,
    arms,
    guardrail: parseGuardrail(o.guardrail, p('guardrail')),
  };
  const why = optString(o, 'stop_reason', prefix, 1024);
  if (why !== undefined) e.stopReason = why;
  return e;
}

export function armToJson(a: ExperimentArm): Record<string, unknown> {
  return {
    name: a.name,
    kind: a.kind,
    weight_bp: a.weightBp,
    ...(a.modelVersion === undefined ? {} : { model_version: a.modelVersion }),
    ...(a.thresholds === undefined ? {} : { thresholds: thresholdOverridesToJson(a.thresholds) }),
    state: a.state,
    ...(a.stopReason === undefined ? {} : { stop_reason: a.stopReason }),
  };
}

export function experimentToJson(e: Experiment): Record<string, unknown> {
  return {
    id: e.id,
    revision: e.revision,
    state: e.state,
    ...(e.stopReason === undefined ? {} : { stop_reason: e.stopReason }),
    salt: e.salt,
    routes: e.routes,
    regions: e.regions,
    arms: e.arms.map(armToJson),
    guardrail: {
      enabled: e.guardrail.enabled,
      alpha: e.guardrail.alpha,
      min_promised_per_arm: e.guardrail.minPromisedPerArm,
      margin: e.guardrail.margin,
    },
  };
}

/** The part of a running experiment the filter needs, resolved for one region (FilterSnapshot.experiments). */
export interface FilterExperiment {
  id: string;
  salt: string;
  routes: string[];
  arms: { name: string; weight_bp: number }[];
}

export function toFilterExperiments(experiments: readonly Experiment[], region: string): FilterExperiment[] {
  return experiments
    .filter((e) => e.state === 'running' && e.regions.includes(region))
    .map((e) => ({
      id: e.id,
      salt: e.salt,
      routes: [...e.routes],
      arms: e.arms.map((a) => ({ name: a.name, weight_bp: a.weightBp })),
    }));
}

/** Parses an untrusted experiment tag of a check request (the filter's); ContractError names the field. */
export function parseExperimentTag(raw: unknown, prefix: string): ExperimentTag {
  const o = asObject(raw, prefix);
  const tag: ExperimentTag = {
    id: reqId(o, 'id', prefix, MAX_EXPERIMENT_ID_LENGTH),
    bucket: reqInt(o, 'bucket', prefix, 0, BUCKETS - 1),
  };
  const arm = optString(o, 'arm', prefix, MAX_ARM_NAME_LENGTH);
  if (arm !== undefined) tag.arm = arm;
  return tag;
}

export function experimentTagToJson(t: ExperimentTag): Record<string, unknown> {
  return { id: t.id, bucket: t.bucket, ...(t.arm === undefined ? {} : { arm: t.arm }) };
}
