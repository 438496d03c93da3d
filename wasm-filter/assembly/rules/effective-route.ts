// How ATP treats one request on a configured route right now: the mode and
// rollout of the filter snapshot's matching route (longest prefix, as the
// sidecar matches), else — before any snapshot arrived, or when the snapshot
// has no route for the path — the plugin configuration's; a request outside
// the rollout share is off; a kill switch for the path marks it killed.
// The plugin configuration says where the filter intercepts and how each route
// fails; the snapshot says what ATP does there now. No host calls.

import { FilterSnapshot, isPathKilled, snapshotRouteFor } from '../snapshot/filter-snapshot';
import { RouteConfig } from '../config/plugin-config';
import { inRollout } from './rollout';
import { RouteMode } from '../config/route-mode';

export class EffectiveRoute {
  mode: RouteMode = RouteMode.OFF;
  /** ATP is switched off for this path (global, region or route kill switch). */
  killed: bool = false;
}

export function resolveRoute(
  route: RouteConfig,
  snapshot: FilterSnapshot | null,
  path: string,
  requestId: string,
): EffectiveRoute {
  const e = new EffectiveRoute();
  let mode = route.mode;
  let rolloutPct = route.rolloutPct;
  if (snapshot !== null) {
    const fromSnapshot = snapshotRouteFor(snapshot, path);
    if (fromSnapshot !== null) {
      mode = fromSnapshot.mode;
      rolloutPct = fromSnapshot.rolloutPct;
    }
    e.killed = isPathKilled(snapshot, path);
  }
  if (mode != RouteMode.OFF && inRollout(requestId, rolloutPct)) e.mode = mode;
  return e;
}
