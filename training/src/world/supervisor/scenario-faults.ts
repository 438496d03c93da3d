/**
 * The supervisor's side of the world's scenarios (scenarios.ts): the faults
 * a real process suffers, injected the way an operator's bad day would
 * bring them. The driver calls these at the window's start and end; each
 * resolves once the fault is in place (or undone).
 *
 * - pause-ingester: SIGSTOP the ingester, SIGCONT it at the end (the stream lags, then catches up);
 * - restart-redis-empty: SIGKILL Redis and start it again empty on its port (nothing at the end);
 * - corrupt-model-restart: restart sidecar-1 trusting another signing key and with a fresh state
 *   directory, so the promoted bundle fails verification (its model is unusable, rules answer);
 *   at the end restart it as it was;
 * - kill-control-plane: SIGKILL the control plane, start it again on its database at the end.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppliedScenario, ScenarioCallbacks, SupervisorFault } from '../scenarios.js';
import type { WorldServices } from './world-services.js';
import type { WorldInfra } from './world-stack.js';

/** What the sidecars counted when the window closed, before any fault was undone (a restart resets counters). */
export type WindowMetrics = Record<string, Record<string, number>>;

/** The sidecars' counters when one window opened (before its fault) and closed (before it was undone). */
export interface WindowCounters {
  atStart: WindowMetrics;
  atEnd: WindowMetrics | null;
}

export interface ScenarioFaults extends ScenarioCallbacks {
  /** atp_degradations_total per sidecar at the (last) window's end (null until one closed). */
  readonly atWindowEnd: WindowMetrics | null;
  /** Per scenario of the run (a sequence has several windows). */
  readonly windows: Readonly<Record<string, WindowCounters>>;
}

/**
 * What a window added to a sidecar's counter of `reason`: end minus start,
 * or the end value when the counter went down (the sidecar restarted inside
 * the window: its counters began again at 0).
 */
export function windowIncrease(w: WindowCounters, reason: string): number {
  let total = 0;
  for (const [pod, end] of Object.entries(w.atEnd ?? {})) {
    const e = end[reason] ?? 0;
    const s = w.atStart[pod]?.[reason] ?? 0;
    total += e >= s ? e - s : e;
  }
  return total;
}

export function scenarioFaults(
  infra: WorldInfra,
  services: () => WorldServices | null,
  log: (line: string) => void,
  scrape: (metricsUrl: string) => Promise<Record<string, number>>,
): ScenarioFaults {
  let atWindowEnd: WindowMetrics | null = null;
  const windows: Record<string, WindowCounters> = {};
  const act = async (a: AppliedScenario, which: 'start' | 'end'): Promise<void> => {
    const s = services();
    if (s === null) return;
    const m: WindowMetrics = {};
    for (const pod of s.pods) m[pod.id] = await scrape(`http://127.0.0.1:${pod.httpPort}/metrics`);
    const name = a.scenario.name;
    if (which === 'start') windows[name] = { atStart: m, atEnd: null };
    else {
      windows[name] = { atStart: windows[name]?.atStart ?? {}, atEnd: m };
      atWindowEnd = m;
    }
    const fault: SupervisorFault | undefined = a.scenario.supervisor?.fault;
    if (fault === undefined) return;
    switch (fault) {
      case 'pause-ingester':
        s.ingester.signal(which === 'start' ? 'SIGSTOP' : 'SIGCONT');
        break;
      case 'restart-redis-empty':
        if (which === 'start') await infra.redis.restartEmpty();
        break;
      case 'corrupt-model-restart': {
        const pod = s.pods[0];
        if (pod === undefined) return;
        if (which === 'start') await pod.restartSidecar(untrustedOverrides(infra, pod.id));
        else await pod.restartSidecar();
        break;
      }
      case 'kill-control-plane':
        if (which === 'start') await infra.controlPlane.process.kill();
        else await infra.controlPlane.restart();
        break;
    }
    log(
      `[world] fault ${fault}: ${which === 'start' ? a.scenario.supervisor?.atStart : (a.scenario.supervisor?.atEnd ?? 'nothing')}`,
    );
  };
  return {
    onScenarioStart: (a) => act(a, 'start'),
    onScenarioEnd: (a) => act(a, 'end'),
    get atWindowEnd() {
      return atWindowEnd;
    },
    windows,
  };
}

/** A sidecar's flags for the model crash: a key that signed nothing it will see, a state dir without a cached bundle. */
function untrustedOverrides(infra: WorldInfra, podId: string): Record<string, string> {
  const dir = join(infra.runDir, `${podId}-model-crash`);
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'other.pub.pem');
  const kp = generateKeyPairSync('ed25519');
  writeFileSync(key, kp.publicKey.export({ format: 'pem', type: 'spki' }));
  return { '--trusted-key': key, '--state-dir': join(dir, 'state') };
}
