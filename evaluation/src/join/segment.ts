/**
 * The segment an evaluated item counts in: region x arm x model version x
 * (node type, hotness, channel, degraded or not). Every figure the join
 * produces is a sum over items of one segment; the report rolls segments up.
 */
import type { DecisionEvent, DecisionEventItem, ItemNodeType } from '@mercato/proto/v1/decision-event';

export type Hotness = 'hot' | 'cold';
export type Degraded = 'degraded' | 'healthy';

export interface Segment {
  region: string;
  arm: string;
  modelVersion: string;
  nodeType: ItemNodeType;
  hotness: Hotness;
  channel: string;
  degraded: Degraded;
}

/** The segment columns, in key order (SQLite column names). */
export const SEGMENT_COLUMNS = [
  'region',
  'arm',
  'model_version',
  'node_type',
  'hotness',
  'channel',
  'degraded',
] as const;

/** Decision-level part of the segment, stored with a pending decision. */
export interface DecisionSegment {
  region: string;
  arm: string;
  modelVersion: string;
  channel: string;
  degraded: Degraded;
}

export function decisionSegment(e: DecisionEvent): DecisionSegment {
  return {
    region: e.region,
    arm: e.arm,
    modelVersion: e.modelVersion,
    channel: e.channel,
    // Any degradation in force puts the decision in the degraded segment (DESIGN §6).
    degraded: e.degradations.length > 0 ? 'degraded' : 'healthy',
  };
}

export function itemSegment(d: DecisionSegment, it: Pick<DecisionEventItem, 'nodeType' | 'hot'>): Segment {
  return { ...d, nodeType: it.nodeType, hotness: it.hot ? 'hot' : 'cold' };
}

/** A stable map key for a segment (fields never contain a tab: they are ids and enums). */
export function segmentKey(s: Segment): string {
  return `${s.region}\t${s.arm}\t${s.modelVersion}\t${s.nodeType}\t${s.hotness}\t${s.channel}\t${s.degraded}`;
}

export function segmentValues(s: Segment): string[] {
  return [s.region, s.arm, s.modelVersion, s.nodeType, s.hotness, s.channel, s.degraded];
}
