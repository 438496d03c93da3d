/**
 * Measures the time spent executing guest (Wasm) code — what Envoy would
 * spend inside the module — apart from the emulator's own host functions,
 * whose JS cost has nothing to do with Envoy's C++ host. Every call into the
 * module is timed as guest time; every host function it calls is timed as
 * host time and subtracted; a guest call nested inside a host function (the
 * host calling malloc to return a buffer) is guest time again. Time is
 * attributed to the outermost export of the call chain (proxy_on_request_body
 * and so on), so a bench can see which hook costs what.
 *
 * Reading the clock is not free (~0.1-0.3 µs per read on a VM's kvm-clock)
 * and every boundary reads it once, so raw guest time includes part of that
 * cost. `calibrate()` measures the share each kind of boundary adds, and
 * `corrected()` subtracts it, boundary by boundary.
 */

const IDLE = 0;
const GUEST = 1;
const HOST = 2;
/** Boundaries per calibration sample, and samples (the median is kept). */
const CALIBRATION_CALLS = 5_000;
const CALIBRATION_SAMPLES = 21;

export interface ExportTime {
  ms: number;
  /** Calls of this export from the host (outermost calls). */
  calls: number;
  /** Host functions called during them, and guest calls nested in those (malloc). */
  hostCalls: number;
  nestedCalls: number;
}

export interface GuestTime {
  /** Guest time since the last reset, in milliseconds. */
  totalMs: number;
  /** Per outermost export. */
  byExport: Record<string, ExportTime>;
}

/** Guest time the clock itself adds per boundary kind, in milliseconds. */
export interface ClockCalibration {
  perCallMs: number;
  perHostCallMs: number;
  perNestedCallMs: number;
}

export class GuestClock {
  private mode = IDLE;
  private readonly modes: number[] = [];
  private last = 0;
  private current: ExportTime | undefined;
  private totalMs = 0;
  private byExport = new Map<string, ExportTime>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Runs a call into the guest, timed as guest time. */
  timeGuest<T>(exportName: string, call: () => T): T {
    const outer = this.mode === IDLE;
    this.enter(GUEST);
    const saved = this.current;
    if (outer) {
      this.current = this.bucket(exportName);
      this.current.calls++;
    } else if (this.current !== undefined) {
      this.current.nestedCalls++;
    }
    try {
      return call();
    } finally {
      this.leave();
      this.current = saved;
    }
  }

  /** Runs a host function called by the guest, timed as host time. */
  timeHost<T>(call: () => T): T {
    if (this.current !== undefined) this.current.hostCalls++;
    this.enter(HOST);
    try {
      return call();
    } finally {
      this.leave();
    }
  }

  read(): GuestTime {
    const byExport: GuestTime['byExport'] = {};
    for (const [name, v] of this.byExport) byExport[name] = { ...v };
    return { totalMs: this.totalMs, byExport };
  }

  reset(): void {
    this.totalMs = 0;
    this.byExport = new Map();
  }

  /**
   * Measures what the clock adds per boundary: empty guest calls with 0, 1
   * host call, and 1 host call with a nested guest call, sampled in turn
   * (so load on the machine hits all three alike); medians of the samples.
   */
  static calibrate(now: () => number = () => performance.now()): ClockCalibration {
    const sample = (body: (c: GuestClock) => void): number => {
      const c = new GuestClock(now);
      for (let i = 0; i < CALIBRATION_CALLS; i++) body(c);
      return c.read().totalMs / CALIBRATION_CALLS;
    };
    const empty = () => 0;
    const bodies = [
      (c: GuestClock) => c.timeGuest('call', empty),
      (c: GuestClock) => c.timeGuest('call', () => c.timeHost(empty)),
      (c: GuestClock) => c.timeGuest('call', () => c.timeHost(() => c.timeGuest('malloc', empty))),
    ];
    // Let the JIT settle on all three shapes before any sample counts.
    for (const body of bodies) sample(body);
    const samples: number[][] = [[], [], []];
    for (let s = 0; s < CALIBRATION_SAMPLES; s++) {
      bodies.forEach((body, i) => {
        samples[i]?.push(sample(body));
      });
    }
    const [call, withHost, withNested] = samples.map((xs) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)] ?? 0;
    }) as [number, number, number];
    return {
      perCallMs: call,
      perHostCallMs: Math.max(0, withHost - call),
      perNestedCallMs: Math.max(0, withNested - withHost),
    };
  }

  /** Guest time with the clock's own share removed (never below zero). */
  static corrected(time: ExportTime, calibration: ClockCalibration): number {
    const overhead =
      time.calls * calibration.perCallMs +
      time.hostCalls * calibration.perHostCallMs +
      time.nestedCalls * calibration.perNestedCallMs;
    return Math.max(0, time.ms - overhead);
  }

  private enter(mode: number): void {
    this.flush(this.now());
    this.modes.push(this.mode);
    this.mode = mode;
  }

  private leave(): void {
    this.flush(this.now());
    this.mode = this.modes.pop() ?? IDLE;
  }

  private flush(t: number): void {
    if (this.mode === GUEST) {
      const elapsed = t - this.last;
      this.totalMs += elapsed;
      if (this.current !== undefined) this.current.ms += elapsed;
    }
    this.last = t;
  }

  private bucket(name: string): ExportTime {
    let b = this.byExport.get(name);
    if (b === undefined) {
      b = { ms: 0, calls: 0, hostCalls: 0, nestedCalls: 0 };
      this.byExport.set(name, b);
    }
    return b;
  }
}
