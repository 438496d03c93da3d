/**
 * Envoy's request.* attributes, as proxy_get_property reads them on a stream
 * (strings only): the path, host, method, scheme, id and protocol of the
 * request, and request.headers.<name>.
 */
import { HeaderMap } from './header-map.js';
import type { HeaderPairs } from './header-pairs.js';
import { toBytes } from './vm-options.js';

const HEADERS_PREFIX = 'request.headers.';
/** The local data plane and the tests speak HTTP/1.1. */
const PROTOCOL = 'HTTP/1.1';

/** The attribute at `path` of a request with these headers; undefined when it has none. */
export function requestProperty(path: string, requestHeaders: HeaderPairs): Uint8Array | undefined {
  const headers = new HeaderMap(requestHeaders);
  const fullPath = headers.get(':path');
  const byPath: Record<string, string | undefined> = {
    'request.path': fullPath,
    'request.url_path': fullPath?.split('?')[0],
    'request.host': headers.get(':authority'),
    'request.method': headers.get(':method'),
    'request.scheme': headers.get(':scheme'),
    'request.id': headers.get('x-request-id'),
    'request.protocol': PROTOCOL,
  };
  if (path in byPath) {
    const value = byPath[path];
    return value === undefined ? undefined : toBytes(value);
  }
  if (path.startsWith(HEADERS_PREFIX)) {
    const value = headers.get(path.slice(HEADERS_PREFIX.length));
    return value === undefined ? undefined : toBytes(value);
  }
  return undefined;
}
