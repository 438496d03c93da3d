/**
 * The sidecar's ring of recent decisions behind the console's decision
 * explorer: lookups by id until a record is overwritten, hot SKUs counted
 * over what the ring holds, shadow disagreements newest first, and the
 * route's answers (404 naming the ring's size, 400 naming the field).
 */
import t from 'tap';
import { decisionRoute } from '../../sidecar/src/adapters/http/decision-routes.js';
import {
  DECISION_LOG_SCHEMA,
  type DecisionLogRecord,
} from '../../sidecar/src/decision-log/decision-log-record.js';
import { DecisionRing } from '../../sidecar/src/decision-log/decision-ring.js';

const side = { available: true, node: 'wh-01', p: 0.97, unitsP10: 4, reasons: [] };
function record(id: string, sku: string, model: 'allow' | 'deny', hot = false): DecisionLogRecord {
  return {
    schema: DECISION_LOG_SCHEMA,
    ts: 1,
    decisionId: id,
    requestId: `r-${id}`,
    region: 'eu-west',
    zone: 'Z1',
    channel: 'checkout',
    mode: 'enforce',
    enforced: 'model',
    decision: model,
    modelDecision: model,
    baselineDecision: 'allow',
    modelVersion: 'm1',
    rulesVersion: 'r1',
    degradations: [],
    latencyUs: 300,
    items: [
      {
        sku,
        qty: 1,
        hot,
        ratePerMin: 2,
        lagMs: 10,
        source: 'store',
        model: side,
        baseline: side,
        candidates: [
          { node: 'wh-01', p: 0.97, pRule: 0.9, threshold: 0.8, health: 'fresh', reason: 'ATP_OK' },
        ],
        final: side,
        reservation: 'held',
      },
    ],
  };
}

t.test('lookups, hot SKUs and disagreements over a full ring', async (t) => {
  const ring = new DecisionRing(3);
  ring.push(record('d1', 'sku-a', 'allow'));
  ring.push(record('d2', 'sku-b', 'deny', true));
  ring.push(record('d3', 'sku-b', 'allow'));
  t.equal(ring.get('d1')?.decisionId, 'd1');
  ring.push(record('d4', 'sku-b', 'deny'));
  t.equal(ring.get('d1'), undefined, 'the oldest record left the ring');
  t.same(ring.hotSkus(), [{ sku: 'sku-b', decisions: 3, hot: 1 }]);
  t.same(
    ring.disagreements(10).map((r) => r.decisionId),
    ['d4', 'd2'],
    'model deny vs baseline allow, newest first',
  );
  const body = decisionRoute(ring, '/v1/decisions/d3', new URLSearchParams()) as Record<string, unknown>;
  t.equal(body.decision_id, 'd3', 'the route answers the snake_case record');
  t.throws(() => decisionRoute(ring, '/v1/decisions/d1', new URLSearchParams()), /not among the last 3/);
  t.throws(
    () => decisionRoute(ring, '/v1/decisions/disagreements', new URLSearchParams('limit=0')),
    /limit: an integer/,
  );
  t.throws(() => decisionRoute(ring, '/v1/decisions/bad%20id', new URLSearchParams()), /decision id/);
});
