// The one log line a worker writes when it accepts its configuration: what an
// operator needs to confirm the filter runs as intended (sidecar, timeout,
// region, snapshot source, and every route's mode, rollout and failure
// policy). No host calls.

import { policyName } from './failure-policy';
import { PluginConfig } from './plugin-config';
import { modeName } from './route-mode';

export function describeConfig(config: PluginConfig, rootId: string): string {
  let routes = '';
  for (let i = 0; i < config.routes.length; i++) {
    const r = unchecked(config.routes[i]);
    if (i > 0) routes += ', ';
    routes +=
      r.prefix +
      '=' +
      modeName(r.mode) +
      ' ' +
      r.rolloutPct.toString() +
      '% on failure ' +
      policyName(r.policy.onSidecarFailure);
  }
  return (
    'atp-filter: configured root id "' +
    rootId +
    '": sidecar ' +
    config.sidecarCluster +
    config.sidecarPath +
    ' timeout ' +
    config.timeoutMs.toString() +
    ' ms, region ' +
    config.region +
    (config.failoverFor.length > 0 ? ' (failover for ' + config.failoverFor.join(',') + ')' : '') +
    ', snapshot ' +
    config.snapshotPath +
    ' every ' +
    config.snapshotPeriodMs.toString() +
    ' ms, routes ' +
    routes
  );
}
