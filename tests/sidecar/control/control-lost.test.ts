/**
 * DESIGN §6 "control plane down": while the watch is lost longer than its
 * bound the last good snapshot serves and every answer says `control-plane`.
 * A real watch client dials a port nobody listens on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { freePort } from '../../helpers/redis-server.js';
import { checkout, worldSidecar } from '../../helpers/sidecar-world.js';

const LOST_AFTER_MS = 1_500;

t.test('a watch lost past its bound flags answers control-plane', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atp-control-lost-'));
  const sc = worldSidecar({
    controlLostAfterMs: LOST_AFTER_MS,
    controlLink: {
      region: 'eu-west',
      sidecarId: 'lost-1',
      grpcAddress: `127.0.0.1:${await freePort()}`,
      httpUrl: null,
      modelsRoot: dir,
      token: 'viewer-token',
      stateDir: dir,
      trustedKeys: [],
      snapshotKeys: null,
      tls: null,
    },
  });
  await sc.start();
  t.teardown(() => sc.stop());
  const early = await sc.engine.check(checkout('IN-STOCK', 1, 'c-1'));
  t.notOk(early.degradations.includes('control-plane'), 'within the bound: not yet');
  await sleep(LOST_AFTER_MS * 2);
  t.equal(sc.link?.watch.stats.connected, false);
  const late = await sc.engine.check(checkout('IN-STOCK', 1, 'c-2'));
  t.ok(late.degradations.includes('control-plane'), 'past the bound: the answer says so');
  t.equal(late.decision, 'allow', 'the last good (here: embedded) snapshot keeps serving');
});

t.test('without a watched control plane nothing is flagged', async (t) => {
  const sc = worldSidecar({ controlLostAfterMs: 1 });
  await sleep(10);
  t.notOk((await sc.engine.check(checkout('IN-STOCK'))).degradations.includes('control-plane'));
});
