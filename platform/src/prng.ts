/**
 * Seeded pseudo-random numbers: sfc32 (Chris Doty-Humphrey's small fast
 * chaotic generator, period >= 2^32 per stream, passes PractRand), seeded
 * through splitmix32 so nearby seeds give unrelated streams. Only integer
 * 32-bit arithmetic, so a seed yields the same numbers on every platform: a
 * simulation or a bootstrap interval can be re-run and compared digit for
 * digit. Math.random cannot be seeded and is never used where results must
 * repeat. Shared by the simulator and training (training/src/simulator) and
 * the evaluation statistics (bootstrap resampling, simulations).
 */

/** Number of outputs discarded after seeding, as the sfc32 author recommends. */
const WARMUP_ROUNDS = 15;
const TWO_POW_32 = 4_294_967_296;

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any integer; `stream` separates independent generators derived from one seed. */
  constructor(seed: number, stream = 0) {
    let s = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = 1;
    for (let i = 0; i < WARMUP_ROUNDS; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /**
   * Uniform integer in [0, n) for n <= 2^32. The multiply-and-floor bias is
   * below n / 2^32, far under the Monte Carlo error of any use here.
   */
  index(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Exponential with the given mean (inter-arrival time of a Poisson process). */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** Log-uniform in [lo, hi]: as many draws per decade, so short and long delays both occur. */
  logUniform(lo: number, hi: number): number {
    return lo * (hi / lo) ** this.float();
  }

  /** Index drawn from a cumulative weight table (last entry = total). */
  pickCumulative(cum: Float64Array): number {
    const x = this.float() * cum[cum.length - 1]!;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cum[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
