// Numbers and names the filter depends on, in one place (STYLE rule 10).
// Limits mirror proto/v1/decision.ts so the filter refuses exactly what the
// sidecar would refuse, one hop earlier and without leaving the pod.

/** Items per checkout basket (MAX_CHECKOUT_ITEMS in proto/v1/decision.ts). */
export const MAX_CHECKOUT_ITEMS: i32 = 50;
/** Units per line (MAX_ITEM_QTY in proto/v1/decision.ts). */
export const MIN_ITEM_QTY: i64 = 1;
export const MAX_ITEM_QTY: i64 = 1000;
/** Identifier lengths accepted by the sidecar (reqId limits in proto/v1/decision.ts). */
export const MAX_SKU_CHARS: i32 = 128;
export const MAX_BUYER_ZONE_CHARS: i32 = 32;
export const MAX_REQUEST_ID_CHARS: i32 = 128;
/** Region names: parseRegionName in proto/v1/regions.ts (MAX_REGION_NAME). */
export const MAX_REGION_CHARS: i32 = 32;
/** Regions one filter may answer for in a failover (plugin config `failover_for`). */
export const MAX_FAILOVER_REGIONS: i32 = 8;
/** Sidecar summary header values copied onto the request; longer values are dropped. */
export const MAX_SIDECAR_HEADER_CHARS: i32 = 256;

/** Nesting the body scanner follows before it gives up: real baskets need 3. */
export const MAX_JSON_DEPTH: i32 = 16;
/** Object keys longer than this cannot be one we look for; they are skipped, not decoded. */
export const MAX_JSON_KEY_CHARS: i32 = 64;

/** Plugin configuration bounds: a value outside them refuses to start. */
export const DEFAULT_SIDECAR_PATH = '/v1/check';
export const DEFAULT_TIMEOUT_MS: u32 = 25;
export const MIN_TIMEOUT_MS: i64 = 1;
export const MAX_TIMEOUT_MS: i64 = 10000;
export const DEFAULT_MAX_BODY_BYTES: u32 = 65536;
export const MIN_MAX_BODY_BYTES: i64 = 64;
/** Envoy's default per-connection buffer limit; a larger filter limit could never be reached. */
export const MAX_MAX_BODY_BYTES: i64 = 1048576;
export const MAX_ROUTES: i32 = 32;
export const MAX_CONFIG_STRING_CHARS: i32 = 256;
export const MAX_ROLLOUT_PCT: i64 = 100;

/**
 * Filter snapshot (modes, kill switches, holds, versions) pulled from the
 * local sidecar. A kill switch must take effect within 2 s (issue 6): one
 * period + one timeout + one tick stays well inside it at the defaults.
 */
export const DEFAULT_SNAPSHOT_PATH = '/v1/filter-snapshot';
export const DEFAULT_SNAPSHOT_PERIOD_MS: u32 = 500;
export const MIN_SNAPSHOT_PERIOD_MS: i64 = 100;
/** Above this a kill switch could no longer reach the filter within 2 s. */
export const MAX_SNAPSHOT_PERIOD_MS: i64 = 1500;
export const DEFAULT_SNAPSHOT_TIMEOUT_MS: u32 = 250;
export const MIN_SNAPSHOT_TIMEOUT_MS: i64 = 10;
export const MAX_SNAPSHOT_TIMEOUT_MS: i64 = 1000;
/** A larger snapshot is refused (the last good one stays): holds and kill lists are short in practice. */
export const MAX_SNAPSHOT_BYTES: u32 = 1048576;
/** Entries per snapshot list (killed_routes, killed_skus, held_skus). */
export const MAX_SNAPSHOT_LIST: i32 = 20000;
export const MAX_SNAPSHOT_ROUTES: i32 = 256;
/** rules_version / model_version: printable, at most this long. */
export const MAX_VERSION_CHARS: i32 = 128;

/**
 * Decision cache and last-known margins in Envoy shared data (no TTL, no
 * delete, no eviction there): a fixed number of slots per kind, so the key
 * set is bounded by construction; see decision-cache.ts.
 */
export const DEFAULT_CACHE_KEY_PREFIX = 'atp.';
export const MAX_CACHE_KEY_PREFIX_CHARS: i32 = 64;
export const DEFAULT_CACHE_MAX_ENTRIES: u32 = 4096;
export const MIN_CACHE_MAX_ENTRIES: i64 = 16;
export const MAX_CACHE_MAX_ENTRIES: i64 = 65536;
/** Baskets whose cache key is longer are not cached (bounds each slot's value to ~1.3 KiB). */
export const MAX_CACHE_KEY_CHARS: i32 = 1024;
/** How old a cached sidecar decision may be to stand in for a failed call. */
export const DEFAULT_CACHE_TTL_MS: u32 = 10000;
/** How old a cached deny may be to answer 409 without calling the sidecar (0: never). */
export const DEFAULT_DENY_FAST_PATH_TTL_MS: u32 = 1000;
export const MAX_CACHE_TTL_MS: i64 = 300000;
/** A sidecar outage allows a basket only when every item's last-known units_p10 - qty is at least this. */
export const DEFAULT_WIDE_MARGIN_UNITS: u32 = 25;
export const MIN_WIDE_MARGIN_UNITS: i64 = 1;
export const MAX_WIDE_MARGIN_UNITS: i64 = 1000000;
/** How old a last-known margin may be to allow during an outage. */
export const DEFAULT_MARGIN_MAX_AGE_MS: u32 = 30000;
export const MAX_MARGIN_MAX_AGE_MS: i64 = 600000;
/** Compare-and-swap attempts on one shared-data key before giving up (another worker keeps winning). */
export const MAX_CAS_ATTEMPTS: i32 = 3;

/**
 * The sidecar call has its own timeout (timeout_ms) enforced by the host; the
 * tick is the backstop when the callback never comes. A paused request is
 * answered at the latest timeout_ms + PAUSE_SLACK_MS + TICK_PERIOD_MS.
 */
export const TICK_PERIOD_MS: u32 = 20;

export const PAUSE_SLACK_MS: u64 = 30;
export const NANOS_PER_MS: u64 = 1000000;

/** Retry-After on a retryable 503: the sidecar restarts or fails over within seconds. */
export const RETRY_AFTER_S = '1';

// Request headers the filter reads.
export const HEADER_METHOD = ':method';
export const HEADER_PATH = ':path';
export const HEADER_CONTENT_LENGTH = 'content-length';
export const HEADER_REQUEST_ID = 'x-request-id';
export const HEADER_BUYER_ZONE = 'x-atp-buyer-zone';
/**
 * The buyer's home region of a checkout the mesh failed over from another
 * region: set (overwriting any client value) by the origin region's mesh
 * routes (mesh-config/istio/virtual-service.yaml), never trusted from a
 * client. Honoured only for regions in plugin config `failover_for`; always
 * removed before the request goes upstream.
 */
export const HEADER_ORIGIN_REGION = 'x-atp-origin-region';

// Headers the filter sets (and strips from clients on ATP routes, so they cannot be forged).
export const HEADER_DECISION = 'x-atp-decision';
export const HEADER_DECISION_ID = 'x-atp-decision-id';
export const HEADER_NODE = 'x-atp-node';
export const HEADER_DEGRADED = 'x-atp-degraded';
/**
 * The sidecar's hold token of a checkout allow (sidecar/src/adapters/http/hold-token.ts), read from
 * the call response and passed upstream so the checkout service can release or confirm its hold.
 */
export const HEADER_HOLD_TOKEN = 'x-atp-hold-token';
/** Bytes of the HMAC a hold token carries (HOLD_TOKEN_BYTES in hold-token.ts: 128 bits). */
export const HOLD_TOKEN_BYTES: i32 = 16;
/** A hold token is exactly this long: those bytes in unpadded base64url (22 characters). */
export const HOLD_TOKEN_CHARS: i32 = (HOLD_TOKEN_BYTES * 8 + 5) / 6;

// Sidecar summary headers read from the call response (the body is never parsed).
export const HEADER_STATUS = ':status';
export const HEADER_MODEL_VERSION = 'x-atp-model-version';
export const HEADER_RULES_VERSION = 'x-atp-rules-version';
/** Per item of the request, in request order: the item's units_p10 (see wasm-filter/README.md). */
export const HEADER_UNITS_P10 = 'x-atp-units-p10';

// Headers the filter adds to its sidecar call (understood by the sidecar's HTTP edge).
export const HEADER_SIDECAR_ROUTE = 'x-atp-route';
export const HEADER_SIDECAR_DEADLINE_MS = 'x-atp-deadline-ms';

/** Why the filter decided locally (kill switch, hold, cache, margin, fail-open); set on the request or reply. */
export const HEADER_REASON = 'x-atp-reason';
export const HEADER_CONTENT_TYPE = 'content-type';
export const HEADER_RETRY_AFTER = 'retry-after';

export const CHANNEL_CHECKOUT = 'checkout';
export const DEGRADED_SIDECAR = 'sidecar';
export const JSON_CONTENT_TYPE = 'application/json';

// Reason codes of local decisions (REASONS in proto/v1/decision.ts).
export const REASON_KILL_SWITCH = 'KILL_SWITCH';
export const REASON_COMPLIANCE_HOLD = 'COMPLIANCE_HOLD';
export const REASON_CACHED_DECISION = 'CACHED_DECISION';
export const REASON_WIDE_MARGIN = 'WIDE_MARGIN';
export const REASON_SIDECAR_UNAVAILABLE = 'SIDECAR_UNAVAILABLE';

/** Decision ids of decisions the filter made itself start with this (then the request id). */
export const LOCAL_DECISION_ID_PREFIX = 'flt-';
