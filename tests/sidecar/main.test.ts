import { spawnSync } from 'node:child_process';
import t from 'tap';
import { parseServeFlags } from '../../sidecar/src/cli/serve-flags.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

t.test('serve flags are validated with errors naming the flag', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{}, '--region'],
    [{ region: 'EU WEST' }, '--region'],
    [{ region: 'eu-west', httpPort: '70000' }, '--http-port'],
    [{ region: 'eu-west', grpcPort: 'x' }, '--grpc-port'],
    [{ region: 'eu-west', redis: 'localhost:6379' }, '--redis'],
    [{ region: 'eu-west', model: '/no/such/bundle' }, '--model'],
    [{ region: 'eu-west', mode: 'loud' }, '--mode'],
    [{ region: 'eu-west', enforce: 'both' }, '--enforce'],
    [{ region: 'eu-west', hotCacheRecords: '-1' }, '--hot-cache-records'],
    [{ region: 'eu-west', worldClock: 'soon' }, '--world-clock'],
    [{ region: 'eu-west', worldClock: '1700000000000@1700000000000x0' }, '--world-clock'],
    [{ region: 'eu-west', worldClock: '1700000000000@1700000000000x5000' }, '--world-clock'],
  ];
  for (const [raw, flag] of cases) {
    const err = t.throws(() => parseServeFlags(raw)) as unknown as {
      code: string;
      field: string;
      message: string;
    };
    t.equal(err.code, 'ATP_ERR_INVALID_FLAG');
    t.equal(err.field, flag);
    t.match(err.message, flag);
  }
  const ok = parseServeFlags({ region: 'eu-west', httpPort: '0', redis: 'redis://127.0.0.1:6379' });
  t.equal(ok.httpPort, 0);
  t.equal(ok.mode, 'enforce');
  t.equal(ok.redisUrl, 'redis://127.0.0.1:6379');
  t.equal(ok.clock.speed, 1, 'the wall clock by default');
  t.ok(Math.abs(ok.clock.now() - Date.now()) < 1_000);
  t.equal(parseServeFlags({ region: 'eu-west', enforce: 'naive' }).enforce, 'naive');
});

t.test('--world-clock runs business time from the simulated epoch at the given speed', async (t) => {
  const sim = Date.UTC(2024, 0, 1);
  const wall = Date.now();
  const c = parseServeFlags({ region: 'eu-west', worldClock: `${sim}@${wall}x60` }).clock;
  t.equal(c.speed, 60);
  const elapsedWall = Date.now() - wall;
  t.ok(Math.abs(c.now() - (sim + elapsedWall * 60)) < 60 * 50, 'sim epoch + 60x the wall time elapsed');
  t.equal(c.wallMs(60_000), 1_000, 'a business minute takes a wall second');
});

t.test('the process exits 2 and names the flag on bad input', async (t) => {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'sidecar/src/main.ts', 'serve', '--region', 'eu-west', '--http-port', '99999'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  t.equal(r.status, 2);
  t.match(r.stderr, /ATP_ERR_INVALID_FLAG --http-port/);
});
