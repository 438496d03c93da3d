/** The simulator's seeded generator; it lives in the platform kit, shared with evaluation. */
export { Prng } from '@mercato/platform/prng';
