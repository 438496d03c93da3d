/**
 * Prometheus helpers shared by every service. Each service keeps its metrics
 * on a registry of its own (several services run in one test process and
 * must not share counters); `metricsExposition` is what a GET /metrics
 * handler answers.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A fresh registry; with `defaultMetrics` it also collects the process's GC, heap and event-loop metrics. */
export function createMetricsRegistry(opts: { defaultMetrics?: boolean; prefix?: string } = {}): Registry {
  const registry = new Registry();
  if (opts.defaultMetrics === true) {
    collectDefaultMetrics({
      register: registry,
      ...(opts.prefix === undefined ? {} : { prefix: opts.prefix }),
    });
  }
  return registry;
}

export interface MetricsExposition {
  contentType: string;
  body: string;
}

export async function metricsExposition(registry: Registry): Promise<MetricsExposition> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
