import t from 'tap';
import { AtpError } from '../../../platform/src/errors.js';
import { ERR } from '../../../training/src/errors.js';
import {
  DEFAULT_SIM_CONFIG,
  resolveSimConfig,
  SIM_MAX_DELAY_MS,
} from '../../../training/src/simulator/sim-config.js';

t.test('an empty input resolves to the documented defaults', async (t) => {
  t.same(resolveSimConfig({}), DEFAULT_SIM_CONFIG);
  t.equal(DEFAULT_SIM_CONFIG.startTimeMs, Date.parse('2026-01-05T00:00:00Z'));
});

t.test('a partial node-type override keeps the other defaults of that type', async (t) => {
  const c = resolveSimConfig({ nodes: { store: { count: 3 } } });
  t.equal(c.nodes.store.count, 3);
  t.same(c.nodes.store.handlingHours, DEFAULT_SIM_CONFIG.nodes.store.handlingHours);
  t.equal(c.nodes.seller.count, DEFAULT_SIM_CONFIG.nodes.seller.count);
});

t.test('invalid values are rejected with an error naming the field', async (t) => {
  const cases: [Parameters<typeof resolveSimConfig>[0], string][] = [
    [{ seed: -1 }, 'seed'],
    [{ seed: 1.5 }, 'seed'],
    [{ region: 'eu west' }, 'region'],
    [{ checkoutsPerS: Number.NaN }, 'checkoutsPerS'],
    [{ flashMultiplier: [3, 2] }, 'flashMultiplier'],
    [{ nodes: { seller: { feedDelayMs: [5_000, SIM_MAX_DELAY_MS + 1] } } }, 'nodes.seller.feedDelayMs[1]'],
    [{ nodes: { store: { outageMinutes: [1, 5] } } }, 'nodes.store.outageMinutes[0]'],
    [{ nodes: { warehouse: { count: 0 }, store: { count: 0 }, seller: { count: 0 } } }, 'nodes'],
    [{ routing: 'sideways' as 'external' }, 'routing'],
    [{ externalFromMs: 5 }, 'externalFromMs'],
    [{ resolveTimeoutMs: 10 }, 'resolveTimeoutMs'],
  ];
  for (const [input, field] of cases) {
    try {
      resolveSimConfig(input);
      t.fail(`${field} should have been rejected`);
    } catch (err) {
      t.type(err, AtpError);
      t.equal((err as AtpError).field, field);
      t.equal((err as AtpError).code, ERR.SIM_CONFIG.code);
    }
  }
});
