/**
 * The closed-loop world's driver: runs the simulator as the world the real
 * processes serve, through ports (world-ports.ts), in three phases.
 *
 * 1. warmUp(): the first warmupHours of the world, fast-forwarded with the
 *    simulator's own naive routing; events and order outcomes are sent at
 *    once, in large batches (the ingester catches up; the batch job can then
 *    compute batch features from that history).
 * 2. goLive(): from liveFromMs to liveUntilMs the world is paced against the
 *    world clock: every few wall ms it advances to the clock's now, sends
 *    the events delivered by then, and sends each checkout to the router
 *    (after the events delivered before it), concurrently up to maxInFlight;
 *    an answer is applied to the world at the clock's now when it arrives.
 * 3. drain(): no new checkouts; the world keeps running, paced, until every
 *    live checkout is answered and has its ground truth and every promise
 *    its outcome, or for drainBoundMs at most.
 *
 * It keeps the delivered system view (a FeatureState fed every event it
 * sent: what the feature store must equal, event for event) and one record
 * per live checkout, and produces a JSON-serialisable summary. It starts no
 * process: the supervisor wires real ports and owns the processes.
 *
 * The run's scenario (scenarios.ts) is applied when the driver is built:
 * its simulator hooks are scheduled in the world, and its window's start
 * and end are step boundaries of the paced phases, where the supervisor's
 * callbacks (ports.scenario) are called.
 */
import { FeatureState } from '@mercato/features/feature-state';
import { R } from '@mercato/features/record-layout';
import type { Clock } from '@mercato/platform/clock';
import { AtpError } from '@mercato/platform/errors';
import { settleWithin } from '@mercato/platform/lifecycle';
import type { OrderOutcome } from '@mercato/proto/v1/order-outcome';
import { ERR } from '../errors.js';
import { SIM_MAX_DELAY_MS } from '../simulator/sim-config.js';
import type { SimCheckoutRecord, SimRecord } from '../simulator/sim-record.js';
import { Simulator } from '../simulator/simulator.js';
import { toOrderOutcome } from '../simulator/to-order-outcome.js';
import { CheckoutDispatcher } from './checkout-dispatcher.js';
import { ScenarioRunner } from './scenario-runner.js';
import {
  type AppliedScenario,
  applyScenario,
  scenarioWindow,
  sequenceWindows,
  WORLD_SCENARIOS,
  worldScenario,
} from './scenarios.js';
import {
  resolveWorldOptions,
  type WorldOptions,
  type WorldOptionsInput,
  type WorldPhase,
  type WorldTimeline,
  worldTimeline,
} from './world-options.js';
import type { DeliveredEvent, ProgressSink, WorldPorts } from './world-ports.js';
import { type ProgressState, WorldProgress } from './world-progress.js';
import { summarizeWorld, type WorldSummary } from './world-summary.js';
import { type DecisionRecord, WorldTally } from './world-tally.js';

const MS_PER_H = 3_600_000;
const MS_PER_MIN = 60_000;
/** The warm-up advances this much simulated time per step, then sends what it produced. */
const WARMUP_STEP_MS = 5 * 60_000;
/** Events per send at most: a warm-up step emits thousands, a Kafka produce request wants fewer. */
export const MAX_EVENT_BATCH = 2_000;
/** The pacing loop never spins: it pauses at least this long (wall ms) between two steps. */
const MIN_PAUSE_WALL_MS = 1;
/** stop() waits this long (wall ms) for the running phase to notice and end. */
export const STOP_GRACE_MS = 5_000;

function minutesMs(minutes: number | null): number | null {
  return minutes === null ? null : Math.round(minutes * MS_PER_MIN);
}

function timerSleep(wallMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, wallMs));
}

export class WorldDriver {
  readonly options: WorldOptions;
  readonly timeline: WorldTimeline;
  /** The world. Read it (physical(), systemView(), world.nodes); never run or advance it from outside. */
  readonly sim: Simulator;
  private readonly clock: Clock;
  private readonly sleep: (wallMs: number) => Promise<void>;
  private readonly view = new FeatureState();
  private readonly tally = new WorldTally();
  private readonly dispatcher: CheckoutDispatcher;
  private readonly progress: WorldProgress;
  private readonly scenarioRun: ScenarioRunner;
  /** Simulated ms the drain may last (options.drainBoundMs, or derived from the world). */
  readonly drainBoundMs: number;
  private pendingEvents: DeliveredEvent[] = [];
  private pendingOutcomes: OrderOutcome[] = [];
  private eventsWarmup = 0;
  private eventsLive = 0;
  private outcomesSent = 0;
  private phaseNow: WorldPhase = 'idle';
  private stopRequested = false;
  /** The phase being run, for stop() to wait on. */
  private active: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ports: WorldPorts,
    input: WorldOptionsInput = {},
  ) {
    const o = resolveWorldOptions(input);
    this.options = o;
    this.timeline = worldTimeline(o);
    this.sim = new Simulator({
      ...o.sim,
      seed: o.seed,
      routing: 'external',
      externalFromMs: this.timeline.liveFromMs,
      resolveTimeoutMs: o.answerTimeoutMs,
      maxEvents: 0,
      durationMs: 0,
    });
    this.clock = ports.clock;
    this.sleep = ports.sleep ?? timerSleep;
    this.dispatcher = new CheckoutDispatcher({
      router: ports.router,
      clock: ports.clock,
      sim: this.sim,
      tally: this.tally,
      maxInFlight: o.maxInFlight,
      answerTimeoutMs: o.answerTimeoutMs,
      fulfilWithoutNode: (c) => this.fulfilWithoutNode(c),
    });
    const maxHandlingMs = Math.max(0, ...this.sim.world.nodes.map((n) => n.handlingHours * MS_PER_H));
    // Every answer comes within the timeout, every ground truth within the longest handling after it.
    this.drainBoundMs = o.drainBoundMs ?? Math.ceil(o.answerTimeoutMs + maxHandlingMs + SIM_MAX_DELAY_MS);
    const sink: ProgressSink = ports.progress ?? process.stderr;
    this.progress = new WorldProgress(sink, this.timeline, this.drainBoundMs);
    this.scenarioRun = new ScenarioRunner(this.applyScenarios(o), ports.scenario, (line) =>
      sink.write(`${line}\n`),
    );
  }

  /** The run's scenario: its window and the simulator hooks it resolved to (a sequence's first). */
  get scenario(): AppliedScenario {
    return this.scenarioRun.applied;
  }

  /** Every scenario of the run in window order: one, or the sequence. */
  get scenarios(): readonly AppliedScenario[] {
    return this.scenarioRun.all;
  }

  /** Schedules the scenario (or the sequence) in the simulator; windows relative to the live phase. */
  private applyScenarios(o: WorldOptions): AppliedScenario[] {
    const startAfterMs = minutesMs(o.scenarioStartAfterMinutes);
    if (o.scenarioSequence === null) {
      const scenario = worldScenario(o.scenario);
      const window = scenarioWindow(scenario, this.timeline, {
        startAfterMs,
        durationMs: minutesMs(o.scenarioMinutes),
      });
      return [applyScenario(this.sim, scenario, window)];
    }
    const steps = o.scenarioSequence;
    const windows = sequenceWindows(steps, this.timeline, startAfterMs);
    return steps.map((st, i) => applyScenario(this.sim, WORLD_SCENARIOS[st.name], windows[i] ?? null));
  }

  get phase(): WorldPhase {
    return this.phaseNow;
  }

  /** Every event sent so far, applied once in sequence order: what the feature store must equal. */
  get deliveredView(): FeatureState {
    return this.view;
  }

  /** One record per live checkout, in checkout order (read them; the driver keeps them up to date). */
  decisions(): IterableIterator<Readonly<DecisionRecord>> {
    return this.tally.decisions();
  }

  /** The three phases in order, then the summary. */
  async run(): Promise<WorldSummary> {
    await this.warmUp();
    await this.goLive();
    await this.drain();
    return this.summary();
  }

  /** Phase 1: fast-forwards the warm-up under naive routing, sending everything at once. */
  warmUp(): Promise<void> {
    return this.enter('idle', 'warm-up', async () => {
      const lastMs = this.timeline.liveFromMs - 1;
      let untilMs = this.timeline.startMs;
      while (untilMs < lastMs && !this.stopRequested) {
        untilMs = Math.min(untilMs + WARMUP_STEP_MS, lastMs);
        await this.take(this.sim.advance(untilMs));
        await this.flush();
        this.report(untilMs);
      }
    });
  }

  /** Phase 2: the live window, paced against the world clock; then no more checkouts. */
  goLive(): Promise<void> {
    return this.enter('warm-up', 'live', async () => {
      await this.paced(this.timeline.liveUntilMs, () => false);
      this.sim.stopCheckouts();
    });
  }

  /** Phase 3: runs on until every live checkout is accounted for, or drainBoundMs. */
  drain(): Promise<void> {
    return this.enter('live', 'drain', async () => {
      await this.paced(
        this.timeline.liveUntilMs + this.drainBoundMs,
        () => this.dispatcher.idle && this.tally.settled(),
      );
      this.dispatcher.close();
      await this.flush();
      await this.scenarioRun.finish(this.sim.stats().nowMs);
      if (this.scenarioRun.failure !== null) throw this.scenarioRun.failure;
      this.phaseNow = 'done';
      this.progress.line(this.progressState(this.sim.stats().nowMs), true);
    });
  }

  /**
   * Asks the running phase to end at its next step (answers still to come
   * are then ignored) and waits for it, at most graceMs. Idempotent; the
   * summary says `stopped`.
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<'done' | 'late'> {
    this.stopRequested = true;
    const ended = await settleWithin(
      this.active.catch(() => undefined).then(() => this.scenarioRun.finish(this.sim.stats().nowMs)),
      graceMs,
    );
    this.dispatcher.close();
    return ended;
  }

  summary(): WorldSummary {
    return summarizeWorld({
      seed: this.options.seed,
      region: this.sim.world.region,
      timeline: this.timeline,
      endMs: this.sim.stats().nowMs,
      stopped: this.stopRequested,
      decisions: this.tally.decisions(),
      duplicateOutcomes: this.tally.duplicateOutcomes,
      eventsWarmup: this.eventsWarmup,
      eventsLive: this.eventsLive,
      outcomesSent: this.outcomesSent,
      view: this.view,
      scenario: this.scenarioRun.applied,
      scenarios: this.scenarioRun.all,
    });
  }

  /** Runs one phase if the previous one is done (a stopped run skips the rest). */
  private enter(from: WorldPhase, to: WorldPhase, body: () => Promise<void>): Promise<void> {
    if (this.phaseNow !== from) {
      const message = `world phase ${to} needs phase ${from} first, now ${this.phaseNow}`;
      return Promise.reject(new AtpError(ERR.WORLD_PHASE, message));
    }
    this.phaseNow = to;
    if (this.stopRequested) return Promise.resolve();
    const run = body();
    this.active = run;
    return run;
  }

  /**
   * Advances to the clock's now (at most untilMs) every few wall ms, until
   * untilMs or done(). A scenario boundary cuts a step short: the world
   * stops there, the callback fires, and the next step follows at once.
   */
  private async paced(untilMs: number, done: () => boolean): Promise<void> {
    for (;;) {
      if (this.dispatcher.failure !== null) throw this.dispatcher.failure;
      if (this.scenarioRun.failure !== null) throw this.scenarioRun.failure;
      const nowMs = this.clock.now();
      const targetMs = Math.min(nowMs, untilMs, this.scenarioRun.nextBoundaryMs());
      await this.take(this.sim.advance(targetMs));
      await this.flush();
      this.scenarioRun.reached(targetMs);
      this.dispatcher.pump();
      this.report(targetMs);
      if (this.stopRequested || targetMs >= untilMs || done()) return;
      if (targetMs < nowMs) continue;
      const dueMs = Math.min(this.sim.nextDueMs(), untilMs);
      const pauseMs = Math.min(this.options.eventBatchWallMs, this.clock.wallMs(dueMs - nowMs));
      await this.sleep(Math.max(MIN_PAUSE_WALL_MS, pauseMs));
    }
  }

  /** Routes each record of a step: events to the view and the send buffer, checkouts to the router, outcomes. */
  private async take(records: readonly SimRecord[]): Promise<void> {
    for (const r of records) {
      switch (r.type) {
        case 'event':
          this.view.apply(r.event);
          this.pendingEvents.push({ event: r.event, deliverAtMs: r.deliverAtMs });
          if (this.pendingEvents.length >= MAX_EVENT_BATCH) await this.flushEvents();
          break;
        case 'checkout':
          // Warm-up checkouts were decided by the simulator's naive routing.
          if (!this.sim.isExternal(r.atMs)) break;
          // The data plane may know every event delivered before the checkout, never one after.
          await this.flushEvents();
          this.dispatcher.submit(r);
          break;
        case 'order-outcome':
          this.pendingOutcomes.push(toOrderOutcome(r));
          this.tally.orderOutcome(r);
          break;
        case 'outcome':
          this.tally.groundTruth(r);
          break;
        case 'truth':
          break;
      }
    }
  }

  /**
   * The world's order service fulfils an allow that names no node: the
   * nearest candidate (by ETA) whose delivered record shows qty free units
   * (on hand - reserved: naive ATP on what the world's own systems know),
   * else the nearest candidate; null when the checkout has none.
   */
  private fulfilWithoutNode(c: SimCheckoutRecord): string | null {
    for (const node of c.candidates) {
      const rec = this.view.get(c.sku, node);
      if (rec !== undefined && (rec[R.onHand] ?? 0) - (rec[R.reserved] ?? 0) >= c.qty) return node;
    }
    return c.candidates[0] ?? null;
  }

  private async flush(): Promise<void> {
    await this.flushEvents();
    if (this.pendingOutcomes.length === 0) return;
    const batch = this.pendingOutcomes;
    this.pendingOutcomes = [];
    await this.ports.outcomes.send(batch);
    this.outcomesSent += batch.length;
  }

  private async flushEvents(): Promise<void> {
    if (this.pendingEvents.length === 0) return;
    const batch = this.pendingEvents;
    this.pendingEvents = [];
    await this.ports.events.send(batch);
    if (this.phaseNow === 'warm-up') this.eventsWarmup += batch.length;
    else this.eventsLive += batch.length;
  }

  private report(simMs: number): void {
    if (this.progress.due()) this.progress.line(this.progressState(simMs), false);
  }

  private progressState(simMs: number): ProgressState {
    return {
      phase: this.phaseNow,
      simMs,
      events: this.eventsWarmup + this.eventsLive,
      checkouts: this.tally.size,
      inFlight: this.dispatcher.inFlightCount,
      waiting: this.dispatcher.waitingCount,
      unsettled: this.tally.unsettledCount,
      promised: this.tally.promisedCount,
      shortPicked: this.tally.shortPickedCount,
      outcomes: this.outcomesSent,
    };
  }
}
