/**
 * The closed-loop world's command lines: `npm run world` flags, and the
 * `--world-clock` flag of the processes the world starts with it (the
 * ingester, the data plane). Bad input is refused naming the flag.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { clockFromFlags, configFromFlags } from '../../ingest/src/main.js';
import { formatWorldClock } from '../../platform/src/clock.js';
import { withFlags } from '../../training/src/world/supervisor/world-services.js';
import { parseWorldArgs } from '../../training/src/world/world-cli.js';
import { WORLD_PRESETS } from '../../training/src/world/world-presets.js';
import { validateDataPlaneFlags, worldTimeouts } from '../../wasm-filter/data-plane/data-plane-config.js';

const SPEC = { simEpochMs: Date.UTC(2026, 0, 5), wallEpochMs: Date.now(), speed: 60 };

t.test('world flags: defaults, values, and refusals naming the flag', async (t) => {
  const d = parseWorldArgs([]);
  if (d === 'help') throw new Error('unexpected help');
  t.equal(d.policy, 'model');
  t.equal(d.sidecars, 2);
  t.equal(d.world.scenario, 'steady');
  t.same(d.world.sim, WORLD_PRESETS.default);
  const o = parseWorldArgs([
    '--minutes',
    '3',
    '--scenario',
    'stream-lag',
    '--policy',
    'naive',
    '--seed',
    '7',
    '--sidecars',
    '3',
    '--world',
    'small',
    '--out',
    '/tmp/x',
  ]);
  if (o === 'help') throw new Error('unexpected help');
  t.same(
    [o.world.liveMinutes, o.world.scenario, o.policy, o.world.seed, o.sidecars, o.outDir],
    [3, 'stream-lag', 'naive', 7, 3, '/tmp/x'],
  );
  t.same(o.world.sim, WORLD_PRESETS.small);
  t.equal(parseWorldArgs(['--help']), 'help');
  const refusals: [string[], RegExp][] = [
    [['--scenario', 'meteor'], /--scenario: expected one of steady, /],
    [['--policy', 'greedy'], /--policy: expected model or naive/],
    [['--minutes', 'ten'], /--minutes: expected a number/],
    [['--sidecars', '0'], /--sidecars: must be between 1 and/],
    [['--speed', '5000'], /--speed: must be between/],
    [['--world', 'huge'], /--world: expected one of default, small/],
    [['--out', ' '], /--out: expected a directory/],
    [['--bogus'], /unknown option '--bogus'/],
  ];
  for (const [argv, re] of refusals) t.throws(() => parseWorldArgs(argv), re, argv.join(' '));
});

t.test('a sidecar restart replaces flag values and keeps the others', async (t) => {
  const args = ['--region', 'eu-west', '--trusted-key', 'a.pem', '--state-dir', 's'];
  t.same(withFlags(args, { '--trusted-key': 'b.pem', '--model': 'm' }), [
    '--region',
    'eu-west',
    '--trusted-key',
    'b.pem',
    '--state-dir',
    's',
    '--model',
    'm',
  ]);
  t.same(args[3], 'a.pem', 'the original arguments are untouched');
});

t.test('ingest --world-clock: the lag clock is the world clock; a bad spec names the flag', async (t) => {
  t.equal(clockFromFlags({}).speed, 1, 'no flag: the wall clock');
  const c = clockFromFlags({ worldClock: formatWorldClock(SPEC) });
  t.equal(c.speed, 60);
  t.ok(Math.abs(c.now() - (SPEC.simEpochMs + (Date.now() - SPEC.wallEpochMs) * 60)) < 1_000);
  t.throws(
    () => clockFromFlags({ worldClock: 'soon' }),
    /--world-clock: expected <simEpochMs>@<wallEpochMs>x<speed>/,
  );
  t.throws(
    () => clockFromFlags({ worldClock: `${SPEC.simEpochMs}@${SPEC.wallEpochMs}x5000` }),
    /--world-clock: speed/,
  );
  // The rest of the configuration is unaffected by the flag.
  t.equal(
    configFromFlags({ brokers: 'b:9092', redis: 'redis://r:6379', region: 'eu-west' }).region,
    'eu-west',
  );
});

t.test(
  'data plane --world-clock: the filter runs on world time, its wall budgets scaled to it',
  async (t) => {
    const base = { upstream: '127.0.0.1:8081', sidecar: '127.0.0.1:8090', region: 'eu-west' };
    const wall = validateDataPlaneFlags({ ...base, timeoutMs: '60' });
    t.equal(wall.clock.speed, 1);
    t.equal(wall.pluginConfig.timeout_ms, 60);
    t.equal(wall.pluginConfig.snapshot_timeout_ms, undefined);
    const world = validateDataPlaneFlags({ ...base, timeoutMs: '60', worldClock: formatWorldClock(SPEC) });
    t.equal(world.clock.speed, 60);
    t.equal(world.pluginConfig.timeout_ms, 3_600, '60 wall ms are 3.6 world seconds at x60');
    t.equal(
      world.pluginConfig.snapshot_timeout_ms,
      1_000,
      "the snapshot call's budget, capped at the filter's bound",
    );
    t.same(worldTimeouts(undefined, { now: Date.now, wallMs: (ms) => ms / 1_000, speed: 1_000 }), {
      timeout_ms: 10_000,
      snapshot_timeout_ms: 1_000,
    });
    t.throws(
      () => validateDataPlaneFlags({ ...base, worldClock: '1@2x3' }),
      /--world-clock: expected <simEpochMs>@<wallEpochMs>x<speed>/,
    );
  },
);

t.test(
  'the data plane process starts on a world clock, answers readiness and stops on SIGTERM',
  async (t) => {
    // Stand-ins for the sidecar and the upstream: the process only has to start, serve and stop.
    const sidecar = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(404).end());
    });
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((r) => sidecar.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      sidecar.close();
      upstream.close();
    });
    const port = (s: typeof sidecar) => (s.address() as { port: number }).port;
    const proc = spawn(
      join('node_modules', '.bin', 'atp-data-plane'),
      [
        '--port',
        '0',
        '--upstream',
        `127.0.0.1:${port(upstream)}`,
        '--sidecar',
        `127.0.0.1:${port(sidecar)}`,
        '--region',
        'eu-west',
        '--world-clock',
        formatWorldClock({ ...SPEC, wallEpochMs: Date.now() }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.teardown(() => proc.kill('SIGKILL'));
    const listening = await new Promise<{ port: number }>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const line = out.split('\n').find((l) => l.includes('"event":"listening"'));
        if (line !== undefined) resolve(JSON.parse(line) as { port: number });
      });
      proc.once('exit', (code) => reject(new Error(`data plane exited ${code}: ${out}`)));
    });
    const ready = await fetch(`http://127.0.0.1:${listening.port}/__atp/ready`);
    t.equal(ready.status, 200, 'the data plane is ready');
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    proc.kill('SIGTERM');
    t.equal(await exited, 0, 'SIGTERM stops it cleanly');
  },
);
