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
export const MAX_REGION_CHARS: i32 = 64;
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

// Headers the filter sets (and strips from clients on ATP routes, so they cannot be forged).
export const HEADER_DECISION = 'x-atp-decision';
export const HEADER_DECISION_ID = 'x-atp-decision-id';
export const HEADER_NODE = 'x-atp-node';
export const HEADER_DEGRADED = 'x-atp-degraded';

// Sidecar summary headers read from the call response (the body is never parsed).
export const HEADER_STATUS = ':status';
export const HEADER_MODEL_VERSION = 'x-atp-model-version';
export const HEADER_RULES_VERSION = 'x-atp-rules-version';

export const CHANNEL_CHECKOUT = 'checkout';
export const DEGRADED_SIDECAR = 'sidecar';
