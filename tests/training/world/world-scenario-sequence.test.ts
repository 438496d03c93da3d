/**
 * Scenario sequences (several fault scenarios in one world run, each in its
 * own window): the `--scenario name[:minutes],...` syntax, the windows one
 * after another, and the runner firing each window's callbacks in order,
 * one after the other.
 */
import t from 'tap';
import { ScenarioRunner } from '../../../training/src/world/scenario-runner.js';
import {
  type AppliedScenario,
  parseScenarioSteps,
  SEQUENCE_GAP_MS,
  sequenceWindows,
  WORLD_SCENARIOS,
} from '../../../training/src/world/scenarios.js';
import { windowIncrease } from '../../../training/src/world/supervisor/scenario-faults.js';
import { parseWorldArgs } from '../../../training/src/world/world-cli.js';

const MIN = 60_000;
const T = { liveFromMs: 1_000 * MIN, liveUntilMs: 1_040 * MIN };

t.test('parseScenarioSteps: names, minutes, refusals naming the field', async (t) => {
  t.same(parseScenarioSteps('stream-lag'), [{ name: 'stream-lag', minutes: null }]);
  t.same(parseScenarioSteps('feed-outage:3, model-crash:4.5'), [
    { name: 'feed-outage', minutes: 3 },
    { name: 'model-crash', minutes: 4.5 },
  ]);
  for (const [bad, re] of [
    ['meteor', /scenario: expected one of steady, /],
    ['stream-lag:0', /minutes of stream-lag must be a positive number/],
    ['stream-lag:x', /minutes of stream-lag/],
    ['stream-lag,stream-lag', /appears twice/],
    ['steady,stream-lag', /steady cannot be part of a sequence/],
    ['stream-lag:1:2', /expected one of/],
  ] as const) {
    t.throws(() => parseScenarioSteps(bad), { field: 'scenario', message: re }, bad);
  }
});

t.test('the world CLI takes a sequence', async (t) => {
  const o = parseWorldArgs(['--scenario', 'feed-outage:3,control-plane-down:14', '--minutes', '30']);
  if (o === 'help') throw new Error('unexpected help');
  t.same(o.world.scenarioSequence, [
    { name: 'feed-outage', minutes: 3 },
    { name: 'control-plane-down', minutes: 14 },
  ]);
  t.match(o.outDir, /feed-outage\+control-plane-down-model-1$/);
  t.throws(() => parseWorldArgs(['--scenario', 'feed-outage,nope']), {
    message: /--scenario: expected one of/,
  });
});

t.test('sequenceWindows: one after another with a gap, cut at the live end', async (t) => {
  const w = sequenceWindows(
    [
      { name: 'feed-outage', minutes: 3 },
      { name: 'model-crash', minutes: null },
      { name: 'control-plane-down', minutes: 30 },
      { name: 'stream-lag', minutes: 2 },
    ],
    T,
  );
  t.same(w[0], { fromMs: T.liveFromMs + 2 * MIN, untilMs: T.liveFromMs + 5 * MIN });
  const second = w[1]!;
  t.equal(second.fromMs, T.liveFromMs + 5 * MIN + SEQUENCE_GAP_MS, 'the next opens a gap after');
  t.equal(
    second.untilMs - second.fromMs,
    WORLD_SCENARIOS['model-crash'].durationMs,
    "the scenario's own length",
  );
  t.equal(w[2]!.untilMs, T.liveUntilMs, 'cut at the live end');
  t.equal(w[3], null, 'no room left: no window');
});

t.test('the runner fires every window in order, callbacks one after the other', async (t) => {
  const windows = sequenceWindows(
    [
      { name: 'feed-outage', minutes: 3 },
      { name: 'stream-lag', minutes: 3 },
    ],
    T,
  );
  const applied: AppliedScenario[] = (['feed-outage', 'stream-lag'] as const).map((name, i) => ({
    scenario: WORLD_SCENARIOS[name],
    window: windows[i] ?? null,
    flashSales: [],
    outages: [],
  }));
  const calls: string[] = [];
  let running = 0;
  const cb = async (what: string) => {
    running++;
    t.equal(running, 1, 'never two callbacks at once');
    await new Promise((r) => setTimeout(r, 5));
    calls.push(what);
    running--;
  };
  const runner = new ScenarioRunner(
    applied,
    {
      onScenarioStart: (a) => cb(`start ${a.scenario.name}`),
      onScenarioEnd: (a) => cb(`end ${a.scenario.name}`),
    },
    () => undefined,
  );
  t.equal(runner.nextBoundaryMs(), windows[0]!.fromMs);
  runner.reached(windows[0]!.untilMs);
  t.equal(runner.nextBoundaryMs(), windows[1]!.fromMs, 'then the second window');
  runner.reached(windows[1]!.fromMs);
  await runner.finish(windows[1]!.fromMs + MIN);
  t.same(calls, ['start feed-outage', 'end feed-outage', 'start stream-lag', 'end stream-lag']);
  t.equal(runner.nextBoundaryMs(), Number.POSITIVE_INFINITY);
});

t.test('windowIncrease: end minus start, a restarted sidecar counts from 0', async (t) => {
  const w = {
    atStart: { a: { model: 5 }, b: { model: 2 } },
    atEnd: { a: { model: 9 }, b: { model: 1 } },
  };
  t.equal(windowIncrease(w, 'model'), 4 + 1);
  t.equal(windowIncrease({ atStart: {}, atEnd: null }, 'model'), 0);
});
