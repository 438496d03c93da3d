/**
 * A sidecar serves its own region only (DESIGN.md §7: requests, holds and
 * decision logs stay in-region). Both edges parse a request through this:
 * a request that names no region is the sidecar's; a malformed region name
 * is INVALID_ARGUMENT, and another region's request is WRONG_REGION, both
 * naming the field `region`. A request's region never overrides the
 * sidecar's own.
 */
import { AtpError } from '@mercato/platform/errors';
import { type CheckRequest, parseCheckRequest } from '@mercato/proto/v1/decision';
import { parseRegionName } from '@mercato/proto/v1/regions';
import { ERR } from '../errors.js';

/** Parses an untrusted request (JSON-decoded) for the sidecar of `ownRegion`. Throws naming the field. */
export function parseRegionalRequest(raw: unknown, ownRegion: string): CheckRequest {
  const request = parseCheckRequest(raw, { region: ownRegion });
  parseRegionName(request.region, 'region');
  if (request.region !== ownRegion) {
    throw new AtpError(
      ERR.WRONG_REGION,
      `region: this sidecar serves "${ownRegion}", the request is for "${request.region}"`,
      'region',
    );
  }
  return request;
}
