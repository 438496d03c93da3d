/**
 * Two running experiments may not cover the same traffic: a request on a
 * route and in a region that two of them match would be assigned twice, and
 * each would read the other's treatment as noise. Overlap = a shared region
 * and one route prefix a prefix of the other's.
 */
import { AtpError } from '@mercato/platform/errors';
import type { Experiment } from '@mercato/proto/v1/experiment';
import { ERR } from '../errors.js';

export function checkNoOverlap(e: Experiment, others: readonly Experiment[]): void {
  for (const o of others) {
    if (o.id === e.id || o.state !== 'running') continue;
    const region = e.regions.find((r) => o.regions.includes(r));
    if (region === undefined) continue;
    for (const [i, a] of e.routes.entries()) {
      const b = o.routes.find((x) => x.startsWith(a) || a.startsWith(x));
      if (b !== undefined) {
        throw new AtpError(
          ERR.CONFLICT,
          `route ${a} overlaps ${b} of running experiment ${o.id} in region ${region}: stop it first`,
          `routes[${i}]`,
        );
      }
    }
  }
}
