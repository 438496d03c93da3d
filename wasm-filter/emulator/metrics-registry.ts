/**
 * Metrics defined by proxy-wasm modules. Ids carry the metric type in their
 * low bits, as in Envoy, and the rules are Envoy's: counters only go up
 * (increment by <= 0 is BadArgument), gauges go both ways, histograms only
 * record. Several VMs may share one registry; a name defined twice is the
 * same metric (Envoy's stats scope behaves the same).
 */
import { MetricType, type MetricTypeName, WasmResult, type WasmResultCode } from './abi.js';

const METRIC_TYPE_MASK = 0x3;
const METRIC_ID_INCREMENT = 0x4;
const TYPE_NAMES: Record<number, MetricTypeName> = {
  [MetricType.Counter]: 'counter',
  [MetricType.Gauge]: 'gauge',
  [MetricType.Histogram]: 'histogram',
};

export interface MetricSnapshot {
  name: string;
  type: MetricTypeName;
  /** Counter and gauge value; for histograms, the number of recorded values. */
  value: bigint;
  /** Histogram samples (empty for counters and gauges). */
  samples: bigint[];
}

interface Metric {
  name: string;
  type: number;
  value: bigint;
  samples: bigint[];
}

export class MetricsRegistry {
  private readonly byName = new Map<string, Metric>();
  private readonly byId = new Map<number, Metric>();
  private readonly nextIdByType = new Map<number, number>();

  define(type: number, name: string): { result: WasmResultCode; id?: number } {
    if (!(type in TYPE_NAMES)) return { result: WasmResult.BadArgument };
    let metric = this.byName.get(name);
    if (metric === undefined) {
      metric = { name, type, value: 0n, samples: [] };
      this.byName.set(name, metric);
    } else if (metric.type !== type) {
      return { result: WasmResult.BadArgument };
    }
    const id = (this.nextIdByType.get(type) ?? type) + METRIC_ID_INCREMENT;
    this.nextIdByType.set(type, id);
    this.byId.set(id, metric);
    return { result: WasmResult.Ok, id };
  }

  increment(id: number, offset: bigint): WasmResultCode {
    const metric = this.byId.get(id);
    const type = id & METRIC_TYPE_MASK;
    if (type === MetricType.Histogram) return WasmResult.BadArgument;
    if (metric === undefined) return WasmResult.NotFound;
    if (type === MetricType.Counter && offset <= 0n) return WasmResult.BadArgument;
    metric.value += offset;
    return WasmResult.Ok;
  }

  record(id: number, value: bigint): WasmResultCode {
    const metric = this.byId.get(id);
    if (metric === undefined) return WasmResult.NotFound;
    if (metric.type === MetricType.Counter) metric.value += value;
    else if (metric.type === MetricType.Gauge) metric.value = value;
    else metric.samples.push(value);
    return WasmResult.Ok;
  }

  read(id: number): { result: WasmResultCode; value?: bigint } {
    const type = id & METRIC_TYPE_MASK;
    if (type === MetricType.Histogram) return { result: WasmResult.BadArgument };
    const metric = this.byId.get(id);
    if (metric === undefined) return { result: WasmResult.NotFound };
    return { result: WasmResult.Ok, value: metric.value };
  }

  /** The value of a counter or gauge by name (0n when never defined), for tests. */
  value(name: string): bigint {
    return this.byName.get(name)?.value ?? 0n;
  }

  snapshot(): MetricSnapshot[] {
    return [...this.byName.values()].map((m) => ({
      name: m.name,
      type: TYPE_NAMES[m.type] ?? 'counter',
      value: m.type === MetricType.Histogram ? BigInt(m.samples.length) : m.value,
      samples: [...m.samples],
    }));
  }
}
