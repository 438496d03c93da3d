/**
 * The sidecar's trust boundary for experiment tags: only a running
 * experiment of this region assigns an arm, always by the sidecar's own
 * mapping of the bucket; a stopped arm's or an unserved arm's buckets get the
 * control policy with no arm; a malformed tag is a 400 naming the field; an
 * arm's threshold overrides apply to the same loaded model.
 */
import t from 'tap';
import { type ControlSnapshot, defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { parseCheckRequest } from '../../../proto/v1/decision.js';
import type { Experiment } from '../../../proto/v1/experiment.js';
import type { ContractError } from '../../../proto/v1/validate.js';
import { DEFAULT_THRESHOLDS } from '../../../sidecar/src/decision/policies/thresholds.js';
import type { ScoringModel } from '../../../sidecar/src/decision/ports.js';
import { armModel } from '../../../sidecar/src/experiments/arm-model.js';
import { ExperimentAssigner } from '../../../sidecar/src/experiments/experiment-assigner.js';

const E: Experiment = {
  id: 'ab-1',
  revision: 1,
  state: 'running',
  salt: 'ab-1',
  routes: ['/checkout'],
  regions: ['eu-west'],
  arms: [
    { name: 'champ', kind: 'champion', weightBp: 6000, state: 'active' },
    {
      name: 'chal',
      kind: 'challenger',
      weightBp: 4000,
      modelVersion: 'm-2',
      thresholds: { checkoutCold: 0.5 },
      state: 'active',
    },
  ],
  guardrail: { enabled: true, alpha: 0.05, minPromisedPerArm: 500, margin: 0 },
};
const snap = (experiments: Experiment[]): ControlSnapshot => ({
  ...defaultControlSnapshot('m-1'),
  experiments,
});

t.test('buckets map to arms by the sidecar, not the filter; unknown tags get no arm', async (t) => {
  let s = snap([E]);
  const a = new ExperimentAssigner(() => s, 'eu-west');
  t.match(a.assign({ id: 'ab-1', bucket: 0 }), { arm: 'champ', kind: 'champion' });
  t.match(
    a.assign({ id: 'ab-1', bucket: 5999, arm: 'chal' }),
    { arm: 'champ' },
    'the filter’s arm is not trusted',
  );
  t.match(a.assign({ id: 'ab-1', bucket: 6000 }), { arm: 'chal', kind: 'challenger', modelVersion: 'm-2' });
  t.equal(a.assign({ id: 'ab-9', bucket: 1 }), null, 'an experiment not running here');
  t.equal(
    new ExperimentAssigner(() => s, 'us-east').assign({ id: 'ab-1', bucket: 1 }),
    null,
    'another region',
  );
  t.equal(a.assign(undefined), null);
  t.match(a.stats, { assigned: 3, refused: 1, mismatch: 1 });
  s = snap([{ ...E, arms: E.arms.map((x) => (x.name === 'chal' ? { ...x, state: 'stopped' } : x)) }]);
  t.match(
    a.assign({ id: 'ab-1', bucket: 9999 }),
    { arm: 'none', kind: 'champion' },
    'a stopped arm: the control policy, no arm',
  );
  const unserved = a.unavailable({
    experimentId: 'ab-1',
    arm: 'chal',
    kind: 'challenger',
    modelVersion: 'm-2',
    thresholds: undefined,
  });
  t.match(unserved, { arm: 'none', kind: 'champion', modelVersion: undefined });
  s = snap([{ ...E, state: 'stopped' }]);
  t.equal(a.assign({ id: 'ab-1', bucket: 1 }), null, 'a stopped experiment assigns nothing');
});

t.test(
  'a malformed tag is refused naming the field; an arm’s thresholds apply to the same model',
  async (t) => {
    const base = {
      request_id: 'r1',
      region: 'eu-west',
      buyer_zone: 'Z1',
      channel: 'checkout',
      items: [{ sku: 'S', qty: 1 }],
    };
    const fieldOf = (raw: unknown) => {
      try {
        parseCheckRequest(raw);
      } catch (err) {
        return (err as ContractError).field;
      }
      return null;
    };
    t.equal(fieldOf({ ...base, experiment: { id: 'ab-1', bucket: 10000 } }), 'experiment.bucket');
    t.equal(fieldOf({ ...base, experiment: { bucket: 3 } }), 'experiment.id');
    t.same(parseCheckRequest({ ...base, experiment: { id: 'ab-1', bucket: 3, arm: 'a' } }).experiment, {
      id: 'ab-1',
      bucket: 3,
      arm: 'a',
    });
    const model = {
      version: 'm-2',
      thresholds: DEFAULT_THRESHOLDS,
      calibration: {},
      ranker: {},
    } as unknown as ScoringModel;
    const overrides = { checkoutCold: 0.5 };
    const m = armModel(model, overrides);
    t.equal(m.thresholds.checkout.cold, 0.5);
    t.equal(
      m.thresholds.checkout.hot,
      DEFAULT_THRESHOLDS.checkout.hot,
      'what the arm does not override stays',
    );
    t.equal(m.ranker, model.ranker, 'the same ranker, no copy');
    t.equal(armModel(model, overrides), m, 'built once per arm');
    t.equal(armModel(model, undefined), model);
  },
);
