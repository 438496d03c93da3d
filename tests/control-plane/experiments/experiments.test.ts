/**
 * Experiments as a lever of the control plane, on real SQLite and
 * PostgreSQL: create (validated, naming the field; unknown region and
 * unknown model refused), start, stop one arm and stop the whole experiment,
 * each audited and carried in the signed snapshot (and its filter view),
 * roles enforced, atpctl experiment create|list|status|stop.
 */
import { join } from 'node:path';
import { parseControlSnapshot, toFilterSnapshot } from '@mercato/proto/v1/control-snapshot';
import { snapshotContentHash } from '@mercato/proto/v1/snapshot-content';
import { applySnapshotDelta, diffSnapshots } from '@mercato/proto/v1/snapshot-delta';
import t, { type Test } from 'tap';
import { createFakeControlPlane } from '../../../control-plane/src/control-plane.js';
import { generateSigningKeys } from '../../../proto/v1/bundle-signature.js';
import {
  bootstrapTokens,
  pushBody,
  startControlWorld,
  TOKENS,
  tempDir,
  testPostgres,
  worldOf,
  writeFakeBundle,
} from '../helpers/control-world.js';

type World = Awaited<ReturnType<typeof startControlWorld>>;
type Obj = Record<string, unknown>;

const body = (over: Obj = {}): Obj => ({
  id: 'ab-1',
  routes: ['/checkout'],
  regions: ['eu-west'],
  arms: [
    { name: 'control', kind: 'naive', weight_bp: 5000 },
    { name: 'model', kind: 'champion', weight_bp: 5000 },
  ],
  reason: 'model vs naive',
  ...over,
});

/** `full`: also the validation and CLI cases (dialect-independent: run on SQLite only, to keep the file fast). */
async function suite(t: Test, world: () => Promise<World>, full = true): Promise<void> {
  const w = await world();
  const bundle = writeFakeBundle(join(tempDir(t), 'm2'), 'm-2', w.keys);
  t.equal((await w.post('/v1/models/push', pushBody(bundle), TOKENS.admin)).status, 200);

  if (full)
    await t.test('bad experiments are refused with 400 naming the field', async (t) => {
      const cases: [Obj, string, RegExp][] = [
        [body({ regions: ['mars-1'] }), 'regions[0]', /unknown region "mars-1"/],
        [
          body({
            arms: [
              { name: 'a', kind: 'naive', weight_bp: 5000 },
              { name: 'b', kind: 'champion', weight_bp: 4000 },
            ],
          }),
          'arms',
          /sum to 10000, got 9000/,
        ],
        [
          body({
            arms: [
              { name: 'a', kind: 'naive', weight_bp: 5000 },
              { name: 'b', kind: 'challenger', weight_bp: 5000 },
            ],
          }),
          'arms[1].model_version',
          /needs a model version/,
        ],
        [
          body({
            arms: [
              { name: 'a', kind: 'naive', weight_bp: 5000 },
              { name: 'b', kind: 'challenger', weight_bp: 5000, model_version: 'nope' },
            ],
          }),
          'arms[1].model_version',
          /never pushed/,
        ],
        [body({ routes: ['checkout'] }), 'routes[0]', /route prefix/],
        [
          body({
            arms: [
              { name: 'a', kind: 'challenger', weight_bp: 5000, model_version: 'm-2' },
              { name: 'b', kind: 'challenger', weight_bp: 5000, model_version: 'm-2' },
            ],
          }),
          'arms',
          /control/,
        ],
        [body({ colour: 'red' }), 'colour', /unknown field/],
        [body({ guardrail: { alpha: 2 } }), 'guardrail.alpha', /between/],
      ];
      for (const [b, field, msg] of cases) {
        const r = await w.post('/v1/experiments/create', b, TOKENS.operator);
        t.equal(r.status, 400, field);
        const err = r.json.error as Obj;
        t.equal(err.field, field);
        t.match(err.message, msg);
      }
      const viewer = await w.post('/v1/experiments/create', body(), TOKENS.viewer);
      t.equal(viewer.status, 403, 'a viewer may not create experiments');
    });

  await t.test(
    'create (draft) -> start -> stop an arm -> stop: audited, in the signed snapshot',
    async (t) => {
      const created = await w.post(
        '/v1/experiments/create',
        body({
          arms: [
            { name: 'champ', kind: 'champion', weight_bp: 5000 },
            {
              name: 'chal',
              kind: 'challenger',
              weight_bp: 5000,
              model_version: 'm-2',
              thresholds: { checkout_cold: 0.2 },
            },
          ],
        }),
        TOKENS.operator,
      );
      t.equal(created.status, 200, JSON.stringify(created.json));
      let snap = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
      t.equal(snap.experiments, undefined, 'a draft does not reach sidecars');

      const draft = snap;
      t.equal(
        (await w.post('/v1/experiments/start', { id: 'ab-1', reason: 'go' }, TOKENS.operator)).status,
        200,
      );
      snap = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
      const viaDelta = applySnapshotDelta(draft, JSON.parse(JSON.stringify(diffSnapshots(draft, snap))));
      t.same(viaDelta.experiments, snap.experiments, 'the watch delta carries the experiments');
      t.same(
        applySnapshotDelta(snap, diffSnapshots(snap, { ...draft, version: snap.version + 1 })).experiments,
        undefined,
        'and their end',
      );
      t.equal(snap.experiments?.[0]?.state, 'running');
      t.equal(snap.experiments?.[0]?.arms[1]?.thresholds?.checkoutCold, 0.2);
      t.equal(snapshotContentHash(snap), snap.contentHash, 'covered by the content hash');
      const filter = toFilterSnapshot(snap, 'eu-west', 'm-1');
      t.same(filter.experiments, [
        {
          id: 'ab-1',
          salt: 'ab-1',
          routes: ['/checkout'],
          arms: [
            { name: 'champ', weight_bp: 5000 },
            { name: 'chal', weight_bp: 5000 },
          ],
        },
      ]);
      t.same(toFilterSnapshot(snap, 'us-east', 'm-1').experiments, [], 'another region sees none');

      const overlap = await w.post(
        '/v1/experiments/create',
        body({ id: 'ab-2', routes: ['/checkout/gift'], start: true }),
        TOKENS.operator,
      );
      t.equal(overlap.status, 409, 'overlapping running experiments are refused');
      t.equal((overlap.json.error as Obj).field, 'routes[0]');

      const ctrl = await w.post(
        '/v1/experiments/stop-arm',
        { id: 'ab-1', arm: 'champ', reason: 'x' },
        TOKENS.operator,
      );
      t.equal(ctrl.status, 409, 'the control arm is not stopped alone');
      const stopArm = await w.post(
        '/v1/experiments/stop-arm',
        { id: 'ab-1', arm: 'chal', reason: 'guardrail: oversell p=0.001' },
        TOKENS.operator,
      );
      t.equal(stopArm.status, 200);
      snap = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
      t.equal(snap.experiments?.[0]?.arms[1]?.state, 'stopped');

      const audit = (await w.get('/v1/audit?action=experiment.arm-stop', TOKENS.viewer)).json
        .entries as Obj[];
      const accepted = audit.find((a) => a.outcome === 'accepted');
      t.equal(accepted?.target, 'ab-1:chal');
      t.equal(accepted?.reason, 'guardrail: oversell p=0.001');
      t.ok(
        audit.some((a) => a.outcome === 'refused' && a.target === 'ab-1:champ'),
        'the refusal is audited too',
      );

      const st = await w.atpctl(['experiment', 'status', 'ab-1'], TOKENS.viewer);
      t.equal(st.code, 0, st.stderr);
      t.match(st.stdout, /chal\s+challenger\s+50.00%\s+m-2/);
      t.match(st.stdout, /r3 running by .*guardrail: oversell p=0.001/);

      const stop = await w.atpctl(['experiment', 'stop', 'ab-1', '--reason', 'done'], TOKENS.operator);
      t.equal(stop.code, 0, stop.stderr);
      snap = parseControlSnapshot((await w.get('/v1/snapshot', TOKENS.viewer)).json);
      t.equal(snap.experiments, undefined, 'a stopped experiment leaves the snapshot');
      const again = await w.atpctl(['experiment', 'stop', 'ab-1', '--reason', 'again'], TOKENS.operator);
      t.equal(again.code, 1);
    },
  );

  if (full)
    await t.test('atpctl experiment create and list', async (t) => {
      const r = await w.atpctl(
        [
          'experiment',
          'create',
          'ab-3',
          '--route',
          '/checkout',
          '--region',
          'eu-west',
          '--arm',
          'control:naive:4000',
          '--arm',
          'chal:challenger:6000:m-2',
          '--threshold',
          'chal.checkout_cold=0.5',
          '--start',
          '--reason',
          'cli',
        ],
        TOKENS.operator,
      );
      t.equal(r.code, 0, r.stderr);
      const bad = await w.atpctl(
        [
          'experiment',
          'create',
          'ab-4',
          '--route',
          '/x',
          '--region',
          'eu-wset',
          '--arm',
          'c:naive:5000',
          '--arm',
          'd:champion:5000',
          '--reason',
          'cli',
        ],
        TOKENS.operator,
      );
      t.equal(bad.code, 1);
      t.match(bad.stderr, /field: regions\[0\]/);
      const list = await w.atpctl(['experiment', 'list'], TOKENS.viewer);
      t.match(list.stdout, /ab-1 r4 stopped/);
      t.match(list.stdout, /ab-3 r1 running/);
    });
}

t.test('SQLite (in memory)', async (t) => {
  await suite(t, () => startControlWorld(t));
});

t.test('PostgreSQL', async (t) => {
  const pgdb = await testPostgres(t);
  await suite(
    t,
    async () => {
      const keys = generateSigningKeys();
      const cp = createFakeControlPlane({
        db: `${pgdb.url}?schema=${pgdb.schema}`,
        signingKeyPem: keys.privatePem,
        bootstrapTokens: bootstrapTokens(),
        trustedKeysPem: [keys.publicPem],
      });
      await cp.start();
      t.teardown(() => cp.stop());
      return worldOf(cp, keys);
    },
    false,
  );
});
