/**
 * The naive-ATP baseline as the simulator's own routing saw it: per node
 * type, how many promised orders failed at pick because the shelf was short.
 * oversellRate = oversold / (promised - buyer-cancelled); node cancellations
 * (seller refuses although stock may exist) are counted apart, since they are
 * not a stock error.
 */

import type { NodeInfo } from '@mercato/features/node-profile';
import { AtpError } from '@mercato/platform/errors';
import { NODE_TYPES, type NodeType } from '@mercato/proto/v1/decision';
import { ERR } from '../errors.js';
import type { SimRecord } from './sim-record.js';

export interface NaiveAtpRow {
  nodeType: NodeType;
  /** Checkouts promised to a node of this type (with an outcome). */
  promised: number;
  buyerCancelled: number;
  nodeCancelled: number;
  picked: number;
  oversold: number;
  /** oversold / (promised - buyerCancelled); 0 when nothing was promised. */
  oversellRate: number;
  /** (oversold + nodeCancelled) / (promised - buyerCancelled): every promise the node did not ship. */
  failRate: number;
}

export interface NaiveAtpSummary {
  rows: NaiveAtpRow[];
  total: Omit<NaiveAtpRow, 'nodeType'> & { nodeType: 'all' };
  checkouts: number;
  /** Checkouts with at least one candidate that naive ATP did not promise. */
  notPromised: number;
  /** Checkouts without any candidate (nobody stocks the SKU near the buyer). */
  noCandidates: number;
  /** Share of outcomes where some candidate could really have shipped. */
  feasibleShare: number;
}

interface Tally {
  promised: number;
  buyerCancelled: number;
  nodeCancelled: number;
  picked: number;
  oversold: number;
}

function emptyTally(): Tally {
  return { promised: 0, buyerCancelled: 0, nodeCancelled: 0, picked: 0, oversold: 0 };
}

/** Incremental form: feed records as they stream by, read the summary at any time. */
export class NaiveAtpReport {
  private readonly typeOf = new Map<string, NodeType>();
  private readonly tallies = new Map<NodeType, Tally>(NODE_TYPES.map((t) => [t, emptyTally()]));
  private checkouts = 0;
  private notPromised = 0;
  private noCandidates = 0;
  private outcomes = 0;
  private anyFeasible = 0;

  constructor(nodes: readonly NodeInfo[]) {
    for (const n of nodes) this.typeOf.set(n.nodeId, n.nodeType);
  }

  observe(r: SimRecord): void {
    if (r.type === 'checkout') {
      this.checkouts++;
      if (r.candidates.length === 0) this.noCandidates++;
      else if (r.promisedNode === null) this.notPromised++;
      return;
    }
    if (r.type !== 'outcome') return;
    this.outcomes++;
    if (r.feasible.includes(true)) this.anyFeasible++;
    if (r.promisedNode === null) return;
    const type = this.typeOf.get(r.promisedNode);
    if (type === undefined)
      throw new AtpError(ERR.DATASET_INVALID, `outcome ${r.checkoutId} names unknown node ${r.promisedNode}`);
    const t = this.tallies.get(type)!;
    t.promised++;
    if (r.cancelledBy === 'buyer') t.buyerCancelled++;
    else if (r.cancelledBy === 'seller') t.nodeCancelled++;
    else if (r.oversold) t.oversold++;
    else if (r.pickSucceeded === true) t.picked++;
  }

  summary(): NaiveAtpSummary {
    const all = emptyTally();
    const rows = NODE_TYPES.map((nodeType) => {
      const t = this.tallies.get(nodeType)!;
      for (const k of Object.keys(all) as (keyof Tally)[]) all[k] += t[k];
      return row(nodeType, t);
    });
    return {
      rows,
      total: { ...row('warehouse', all), nodeType: 'all' },
      checkouts: this.checkouts,
      notPromised: this.notPromised,
      noCandidates: this.noCandidates,
      feasibleShare: this.outcomes === 0 ? 0 : this.anyFeasible / this.outcomes,
    };
  }
}

function row(nodeType: NodeType, t: Tally): NaiveAtpRow {
  const base = t.promised - t.buyerCancelled;
  return {
    nodeType,
    ...t,
    oversellRate: base > 0 ? t.oversold / base : 0,
    failRate: base > 0 ? (t.oversold + t.nodeCancelled) / base : 0,
  };
}

/** One-shot form over a finished record list. */
export function naiveAtpReport(records: Iterable<SimRecord>, nodes: readonly NodeInfo[]): NaiveAtpSummary {
  const r = new NaiveAtpReport(nodes);
  for (const rec of records) r.observe(rec);
  return r.summary();
}

/** The summary as a fixed-width text table (CLI, test comments). */
export function formatNaiveAtpTable(s: NaiveAtpSummary): string {
  const head = [
    'node type',
    'promised',
    'buyer cxl',
    'node cxl',
    'picked',
    'oversold',
    'oversell %',
    'fail %',
  ];
  const lines = [...s.rows, s.total].map((r) => [
    r.nodeType,
    String(r.promised),
    String(r.buyerCancelled),
    String(r.nodeCancelled),
    String(r.picked),
    String(r.oversold),
    (r.oversellRate * 100).toFixed(2),
    (r.failRate * 100).toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [fmt(head), ...lines.map(fmt)];
  out.push(
    `checkouts ${s.checkouts}, not promised ${s.notPromised}, no candidates ${s.noCandidates}, ` +
      `some candidate feasible ${(s.feasibleShare * 100).toFixed(1)}%`,
  );
  return out.join('\n');
}
