/**
 * Health of one ingester: which dependency is failing, with which code, since
 * when. Healthy means running, holding a group assignment, and every
 * dependency answering its last call. A failing dependency never stops the
 * ingester: it retries (without committing) and reports here until the
 * dependency answers again.
 */
import type { IngestMetrics } from './ingest-metrics.js';

/**
 * consumer: group membership (down from a crash until the next assignment);
 * broker: offsets and metadata requests; store: feature store writes;
 * dead_letters: the DLQ topic; commit: offset commits.
 */
export type Component = 'consumer' | 'broker' | 'store' | 'dead_letters' | 'commit';
export const COMPONENTS: readonly Component[] = ['consumer', 'broker', 'store', 'dead_letters', 'commit'];

export type IngestState = 'starting' | 'running' | 'stopping' | 'stopped';

export interface Problem {
  component: Component;
  code: string;
  message: string;
  sinceMs: number;
}

export interface HealthStatus {
  healthy: boolean;
  state: IngestState;
  assignedPartitions: number[];
  problems: Problem[];
}

export class IngestHealth {
  private readonly problems = new Map<Component, Problem>();
  private state: IngestState = 'starting';
  private assigned: number[] = [];

  constructor(
    private readonly metrics: IngestMetrics,
    private readonly clock: () => number,
  ) {
    for (const c of COMPONENTS) metrics.componentUp.set({ component: c }, 1);
    this.publish();
  }

  /** A call to `component` failed with `code`; the first failure's time is kept. */
  down(component: Component, code: string, message: string): void {
    const cur = this.problems.get(component);
    if (cur === undefined || cur.code !== code) {
      this.problems.set(component, { component, code, message, sinceMs: cur?.sinceMs ?? this.clock() });
      this.metrics.componentUp.set({ component }, 0);
      this.publish();
    }
  }

  /** A call to `component` succeeded. */
  up(component: Component): void {
    if (this.problems.delete(component)) {
      this.metrics.componentUp.set({ component }, 1);
      this.publish();
    }
  }

  setState(state: IngestState): void {
    this.state = state;
    this.publish();
  }

  setAssigned(partitions: number[]): void {
    this.assigned = [...partitions].sort((a, b) => a - b);
    this.metrics.assignedPartitions.set(this.assigned.length);
    this.publish();
  }

  isDown(component: Component): boolean {
    return this.problems.has(component);
  }

  status(): HealthStatus {
    return {
      healthy: this.isHealthy(),
      state: this.state,
      assignedPartitions: [...this.assigned],
      problems: [...this.problems.values()],
    };
  }

  private isHealthy(): boolean {
    // An ingester without partitions is healthy when the group has more members than partitions.
    return this.state === 'running' && this.problems.size === 0;
  }

  private publish(): void {
    this.metrics.healthy.set(this.isHealthy() ? 1 : 0);
  }
}
