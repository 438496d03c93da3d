/**
 * Seeded uniform numbers for the bootstrap (and the tests' simulations): sfc32
 * (Chris Doty-Humphrey's small fast chaotic generator, period >= 2^32 per
 * stream, passes PractRand) seeded through splitmix32 so nearby seeds give
 * unrelated streams. Integer 32-bit arithmetic only, so a seed gives the same
 * interval on every machine: a report can be re-run and compared digit for
 * digit. Math.random is never used, it cannot be seeded.
 *
 * The simulator has the same generator (training/src/simulator/prng.ts); the
 * walls keep components apart, so each carries its own until it moves to the
 * platform kit.
 */

/** Outputs discarded after seeding, as the sfc32 author recommends. */
const WARMUP_ROUNDS = 15;
const TWO_POW_32 = 4_294_967_296;
/** Golden-ratio increment of splitmix32; also decorrelates the stream number from the seed. */
const GOLDEN_GAMMA = 0x9e3779b9;

/** One seeded stream of uniform numbers. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any integer; `stream` separates independent generators derived from one seed. */
  constructor(seed: number, stream = 0) {
    let s = (seed ^ Math.imul(stream + 1, GOLDEN_GAMMA)) >>> 0;
    const splitmix = (): number => {
      s = (s + GOLDEN_GAMMA) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = 1;
    for (let i = 0; i < WARMUP_ROUNDS; i++) this.nextUint32();
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution (enough for resampling and simulation). */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * Uniform integer in [0, n) for n <= 2^32. The multiply-and-floor bias is
   * below n / 2^32, far under the Monte Carlo error of any bootstrap here.
   */
  nextIndex(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }
}
