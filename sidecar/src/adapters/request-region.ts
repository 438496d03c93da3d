/**
 * A sidecar serves its own region only (DESIGN.md §7: requests, holds and
 * decision logs stay in-region). Both edges parse a request through this:
 * a request that names no region is the sidecar's; a malformed region name
 * is INVALID_ARGUMENT, and another region's request is WRONG_REGION, both
 * naming the field `region`. A request's region never overrides the
 * sidecar's own. The one exception is a region this sidecar fails over for
 * (`serve --failover-for`): its requests pass, and are answered only from
 * that region's escrow budget (escrow/failover-service.ts).
 */
import { AtpError } from '@mercato/platform/errors';
import { type CheckRequest, parseCheckRequest } from '@mercato/proto/v1/decision';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { ERR } from '../errors.js';

const NO_REGIONS: ReadonlySet<string> = new Set();

/** Parses an untrusted request (JSON-decoded) for the sidecar of `ownRegion`. Throws naming the field. */
export function parseRegionalRequest(
  raw: unknown,
  ownRegion: string,
  failoverFor: ReadonlySet<string> = NO_REGIONS,
): CheckRequest {
  const request = parseCheckRequest(raw, { region: ownRegion });
  parseRegionName(request.region, 'region');
  if (request.region !== ownRegion && !failoverFor.has(request.region)) {
    const also = failoverFor.size === 0 ? '' : ` (and fails over for ${[...failoverFor].join(', ')})`;
    throw new AtpError(
      ERR.WRONG_REGION,
      `region: this sidecar serves "${ownRegion}"${also}, the request is for "${request.region}"`,
      'region',
    );
  }
  return request;
}
