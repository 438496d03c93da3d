// What an enforcing route answers when the sidecar gives no usable answer
// (dispatch refused, timeout, reset, non-200, malformed summary, no callback):
// DESIGN §6 "a cached decision younger than its TTL; else allow only with a
// wide last-known margin; else deny with a retryable status". Each route
// names its policy explicitly (STYLE rule 5); the steps a policy allows are
// tried in that order. No host calls.

export enum SidecarFailurePolicy {
  /** Cached decision, else wide-margin allow, else 503 retryable. The default. */
  CACHED_THEN_MARGIN_THEN_DENY = 0,
  /** Cached decision, else 503 retryable. */
  CACHED_THEN_DENY = 1,
  /** 503 retryable at once. */
  DENY_RETRYABLE = 2,
  /** Allow, flagged degraded: explicit opt-in for routes where a lost sale costs more than an oversell. */
  FAIL_OPEN = 3,
}

export const POLICY_NAMES = 'cached_then_margin_then_deny | cached_then_deny | deny_retryable | fail_open';

/** The policy a name stands for, or -1. */
export function parsePolicyName(name: string): i32 {
  if (name == 'cached_then_margin_then_deny') return SidecarFailurePolicy.CACHED_THEN_MARGIN_THEN_DENY;
  if (name == 'cached_then_deny') return SidecarFailurePolicy.CACHED_THEN_DENY;
  if (name == 'deny_retryable') return SidecarFailurePolicy.DENY_RETRYABLE;
  if (name == 'fail_open') return SidecarFailurePolicy.FAIL_OPEN;
  return -1;
}

export function policyName(policy: SidecarFailurePolicy): string {
  if (policy == SidecarFailurePolicy.CACHED_THEN_MARGIN_THEN_DENY) return 'cached_then_margin_then_deny';
  if (policy == SidecarFailurePolicy.CACHED_THEN_DENY) return 'cached_then_deny';
  if (policy == SidecarFailurePolicy.FAIL_OPEN) return 'fail_open';
  return 'deny_retryable';
}

/** Step 1: may a cached sidecar decision stand in? */
export function policyUsesCache(policy: SidecarFailurePolicy): bool {
  return (
    policy == SidecarFailurePolicy.CACHED_THEN_MARGIN_THEN_DENY ||
    policy == SidecarFailurePolicy.CACHED_THEN_DENY
  );
}

/** Step 2: may a wide last-known margin allow? */
export function policyUsesMargin(policy: SidecarFailurePolicy): bool {
  return policy == SidecarFailurePolicy.CACHED_THEN_MARGIN_THEN_DENY;
}

/** Last step: allow (fail open) instead of the retryable 503? */
export function policyFailsOpen(policy: SidecarFailurePolicy): bool {
  return policy == SidecarFailurePolicy.FAIL_OPEN;
}
