/**
 * Seeded sampling for the statistics' simulation tests: binomial batches by
 * inversion (exact, one uniform per draw, O(n p) steps, fine for the small
 * batches simulated here) on the evaluation package's own generator.
 */
import { Prng } from '../../../platform/src/prng.js';

export { Prng };

/** Largest batch the inversion sampler accepts: (1/2)^n must not underflow. */
const MAX_BINOMIAL_TRIALS = 1000;

/** A Binomial(n, p) draw. */
export function binomial(random: Prng, n: number, p: number): number {
  if (n > MAX_BINOMIAL_TRIALS) throw new Error(`binomial: n = ${n} is above ${MAX_BINOMIAL_TRIALS}`);
  if (p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(random, n, 1 - p);
  const odds = p / (1 - p);
  let mass = (1 - p) ** n;
  let cumulative = mass;
  const u = random.float();
  let k = 0;
  while (u >= cumulative && k < n) {
    mass *= (odds * (n - k)) / (k + 1);
    cumulative += mass;
    k++;
  }
  return k;
}

/** A standard normal draw (Box-Muller; one of the pair is discarded for simplicity). */
export function standardNormal(random: Prng): number {
  const u = 1 - random.float();
  const v = random.float();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** The Monte Carlo slack of a rejection-rate estimate: three binomial standard errors. */
export function monteCarloSlack(rate: number, runs: number): number {
  return 3 * Math.sqrt((rate * (1 - rate)) / runs);
}
