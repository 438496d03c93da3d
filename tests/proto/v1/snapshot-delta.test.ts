/**
 * Deltas: applying diff(a, b) to a yields b exactly (same content hash),
 * for every kind of change; a delta on the wrong base or with a tampered
 * item or hash is refused.
 */
import t from 'tap';
import { type ControlSnapshot, defaultControlSnapshot } from '../../../proto/v1/control-snapshot.js';
import { canonicalSnapshot, snapshotContentHash } from '../../../proto/v1/snapshot-content.js';
import { applySnapshotDelta, DeltaMismatchError, diffSnapshots } from '../../../proto/v1/snapshot-delta.js';

function make(version: number, over: Partial<ControlSnapshot>): ControlSnapshot {
  const s = canonicalSnapshot({ ...defaultControlSnapshot('m1'), ...over, version });
  return { ...s, contentHash: snapshotContentHash(s) };
}

const A = make(4, {
  killSwitches: [{ scope: 'region', target: 'us-east', reason: 'old' }],
  holds: [
    { sku: 'H1', reason: 'r' },
    { sku: 'H2', region: 'eu-west', reason: 'r' },
  ],
  sellers: [{ nodeId: 'S1', handlingHours: 24 }],
  model: { active: 'm1' },
});

t.test('diff then apply reproduces the target for each kind of change', async (t) => {
  const targets: [string, Partial<ControlSnapshot>][] = [
    [
      'kill switch added and one removed',
      { killSwitches: [{ scope: 'region', target: 'eu-west', reason: 'INC-1' }] },
    ],
    [
      'kill switch reason changed',
      { killSwitches: [{ scope: 'region', target: 'us-east', reason: 'new reason' }] },
    ],
    [
      'route mode and rollout',
      {
        routes: [
          { prefix: '/checkout', mode: 'shadow', rolloutPct: 25 },
          { prefix: '/browse', mode: 'off', rolloutPct: 100 },
        ],
      },
    ],
    ['hold removed, region hold becomes global', { holds: [{ sku: 'H2', reason: 'r' }] }],
    [
      'seller constraint replaced',
      {
        sellers: [
          { nodeId: 'S1', dailyOrderCap: 5, blackoutHoursUtc: [0, 6] },
          { nodeId: 'S2', regions: ['eu-west'] },
        ],
      },
    ],
    [
      'model promoted with a staged rollout',
      {
        model: {
          active: 'm2',
          previous: 'm1',
          staged: { version: 'm3', rolloutPctByRegion: { 'eu-west': 10 } },
        },
      },
    ],
    ['rules version only', { rulesVersion: 'rules-other' }],
  ];
  for (const [what, over] of targets) {
    const B = make(9, { ...A, ...over });
    const delta = JSON.parse(JSON.stringify(diffSnapshots(A, B)));
    const out = applySnapshotDelta(A, delta);
    t.equal(out.version, 9, what);
    t.equal(out.contentHash, B.contentHash, `${what}: same content hash`);
    t.same(out, B, `${what}: same snapshot`);
  }
});

t.test('a delta carries only what changed', async (t) => {
  const B = make(5, { ...A, holds: [...A.holds, { sku: 'H3', reason: 'new' }] });
  const d = diffSnapshots(A, B);
  t.same(d.holds, { upsert: [{ sku: 'H3', reason: 'new' }], remove: [] });
  t.same(d.kill_switches, { upsert: [], remove: [] });
  t.same(d.sellers, { upsert: [], remove: [] });
});

t.test('a delta for another base version is a mismatch', async (t) => {
  const B = make(5, { ...A, holds: [] });
  const d = diffSnapshots(A, B);
  t.throws(() => applySnapshotDelta({ ...A, version: 3 }, d), DeltaMismatchError);
});

t.test('a tampered delta is refused: the result does not hash to what it announces', async (t) => {
  const B = make(5, { ...A, killSwitches: [] });
  const d = JSON.parse(JSON.stringify(diffSnapshots(A, B)));
  d.kill_switches.remove = [];
  t.throws(
    () => applySnapshotDelta(A, d),
    DeltaMismatchError,
    'the kill switch removal was dropped in transit',
  );
});

t.test('a malformed delta is refused naming the field', async (t) => {
  const B = make(5, { ...A, routes: [{ prefix: '/x', mode: 'enforce', rolloutPct: 100 }] });
  const d = JSON.parse(JSON.stringify(diffSnapshots(A, B)));
  d.routes.upsert[0].rollout_pct = 400;
  const fieldOf = (raw: unknown): string | undefined => {
    try {
      applySnapshotDelta(A, raw);
      return undefined;
    } catch (err) {
      return (err as { field?: string }).field;
    }
  };
  t.match(fieldOf(d), /^routes\[\d+\]\.rollout_pct$/);
  t.equal(fieldOf({ ...d, schema: 'x' }), 'delta.schema');
  t.equal(fieldOf({ ...d, holds: 'nope' }), 'delta.holds');
});
