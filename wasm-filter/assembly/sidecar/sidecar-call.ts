// The two calls the filter makes to its sidecar — POST sidecar_path (a
// decision) and GET snapshot_path (the filter snapshot) — have headers fixed
// by the configuration, so they are serialized once per configuration rather
// than per request. Nothing from the client request goes in them (DESIGN §7):
// the request line, content negotiation, the matched route and the budget.
// No host calls.

import { HEADER_SIDECAR_DEADLINE_MS, HEADER_SIDECAR_ROUTE, JSON_CONTENT_TYPE } from '../constants';
import { serializeHeaderPairs } from '../host/header-pairs';
import { PluginConfig, RouteConfig } from '../config/plugin-config';

const POST = 'POST';
const GET = 'GET';

export class SidecarCalls {
  cluster: ArrayBuffer = new ArrayBuffer(0);
  snapshotHeaders: ArrayBuffer = new ArrayBuffer(0);
}

/** Encodes the cluster name and the snapshot call's headers, and each route's decision-call headers. */
export function prepareSidecarCalls(config: PluginConfig): SidecarCalls {
  const calls = new SidecarCalls();
  calls.cluster = String.UTF8.encode(config.sidecarCluster);
  calls.snapshotHeaders = serializeHeaderPairs([
    ':method',
    GET,
    ':path',
    config.snapshotPath,
    ':authority',
    config.sidecarAuthority,
    'accept',
    JSON_CONTENT_TYPE,
  ]);
  for (let i = 0; i < config.routes.length; i++) {
    const route = unchecked(config.routes[i]);
    route.checkCallHeaders = checkCallHeaders(config, route);
  }
  return calls;
}

function checkCallHeaders(config: PluginConfig, route: RouteConfig): ArrayBuffer {
  return serializeHeaderPairs([
    ':method',
    POST,
    ':path',
    config.sidecarPath,
    ':authority',
    config.sidecarAuthority,
    'content-type',
    JSON_CONTENT_TYPE,
    'accept',
    JSON_CONTENT_TYPE,
    HEADER_SIDECAR_ROUTE,
    route.prefix,
    HEADER_SIDECAR_DEADLINE_MS,
    config.timeoutMs.toString(),
  ]);
}
