// The filter's counters, defined once per configuration. Names are stable:
// dashboards and alerts key on them. A counter the host refuses to define is
// skipped, never fatal.

import { OutcomeLabel } from './decision-outcome';
import * as host from './host';

export const METRIC_INTERCEPTED = 'atp_filter.requests_intercepted';
export const METRIC_ALLOW = 'atp_filter.decisions_allow';
export const METRIC_DENY = 'atp_filter.decisions_deny';
export const METRIC_SHADOW = 'atp_filter.decisions_shadow';
export const METRIC_INVALID = 'atp_filter.requests_invalid';
export const METRIC_UNAVAILABLE = 'atp_filter.sidecar_unavailable';
export const METRIC_DEADLINE = 'atp_filter.sidecar_deadline_expired';

export class FilterMetrics {
  private intercepted: i64 = -1;
  private allow: i64 = -1;
  private deny: i64 = -1;
  private shadow: i64 = -1;
  private invalid: i64 = -1;
  private unavailable: i64 = -1;
  private deadline: i64 = -1;

  define(): void {
    this.intercepted = host.defineCounter(METRIC_INTERCEPTED);
    this.allow = host.defineCounter(METRIC_ALLOW);
    this.deny = host.defineCounter(METRIC_DENY);
    this.shadow = host.defineCounter(METRIC_SHADOW);
    this.invalid = host.defineCounter(METRIC_INVALID);
    this.unavailable = host.defineCounter(METRIC_UNAVAILABLE);
    this.deadline = host.defineCounter(METRIC_DEADLINE);
  }

  countIntercepted(): void {
    host.incrementCounter(this.intercepted);
  }

  countDeadlineExpired(): void {
    host.incrementCounter(this.deadline);
  }

  countOutcome(label: OutcomeLabel): void {
    if (label == OutcomeLabel.ALLOW) host.incrementCounter(this.allow);
    else if (label == OutcomeLabel.DENY) host.incrementCounter(this.deny);
    else if (label == OutcomeLabel.SHADOW) host.incrementCounter(this.shadow);
    else if (label == OutcomeLabel.INVALID) host.incrementCounter(this.invalid);
    else host.incrementCounter(this.unavailable);
  }
}
