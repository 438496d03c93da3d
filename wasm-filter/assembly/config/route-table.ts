// Which configured route a request path belongs to. First match in
// configuration order wins, like Envoy's route table. No host calls.

import { hasPrefix } from '../text/identifiers';
import { RouteConfig } from './plugin-config';

export function matchRoute(routes: RouteConfig[], path: string): RouteConfig | null {
  const n = routes.length;
  for (let i = 0; i < n; i++) {
    const route = unchecked(routes[i]);
    if (hasPrefix(path, route.prefix)) return route;
  }
  return null;
}
