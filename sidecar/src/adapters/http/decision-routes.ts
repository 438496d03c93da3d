/**
 * GET /v1/decisions/<id> (one recent decision's record: items, candidates
 * with their scores, thresholds, health and reasons, both sides of the
 * shadow comparison, the reservation, and `served_features`: every scored
 * candidate's model input, named), GET /v1/decisions/hot-skus and GET
 * /v1/decisions/disagreements?limit=N, answered from the sidecar's ring of
 * recent decisions. Read by the control plane for the operator console.
 */
import { AtpError } from '@mercato/platform/errors';
import { decisionLogToJson } from '../../decision-log/decision-log-record.js';
import { type DecisionRing, servedRowsToJson } from '../../decision-log/decision-ring.js';
import { ERR } from '../../errors.js';

export const DECISIONS_PREFIX = '/v1/decisions/';
const DISAGREEMENTS_DEFAULT = 20;
const DISAGREEMENTS_MAX = 200;
const DECISION_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The JSON body of one lookup; throws NOT_FOUND / BAD_REQUEST naming what is wrong. */
export function decisionRoute(ring: DecisionRing, path: string, query: URLSearchParams): unknown {
  const rest = path.slice(DECISIONS_PREFIX.length);
  if (rest === 'hot-skus') return { capacity: ring.capacity, skus: ring.hotSkus() };
  if (rest === 'disagreements') {
    const raw = query.get('limit');
    const limit = raw === null ? DISAGREEMENTS_DEFAULT : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > DISAGREEMENTS_MAX)
      throw new AtpError(ERR.INVALID_ARGUMENT, `limit: an integer 1..${DISAGREEMENTS_MAX}`, 'limit');
    return { capacity: ring.capacity, decisions: ring.disagreements(limit).map(decisionLogToJson) };
  }
  const id = decodeURIComponent(rest);
  if (!DECISION_ID_RE.test(id))
    throw new AtpError(ERR.INVALID_ARGUMENT, 'decision id: 1-128 of A-Z a-z 0-9 . _ : -', 'decision_id');
  const r = ring.get(id);
  if (r === undefined)
    throw new AtpError(
      ERR.NOT_FOUND,
      `decision ${id} is not among the last ${ring.capacity} decisions of this sidecar`,
    );
  return { ...decisionLogToJson(r), served_features: servedRowsToJson(ring.served(id)) };
}
