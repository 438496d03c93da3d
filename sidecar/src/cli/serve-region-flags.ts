/**
 * The region part of `serve`'s flags: the registry the sidecar validates
 * against (`--regions-file`, else the default registry), its own region
 * (`--region`, refused when the registry does not know it), and the
 * residency of what it writes to: its Redis (`--redis`) and its decision
 * stream (`--decision-stream`) must not be another region's. Every refusal
 * is INVALID_FLAG naming the flag.
 */
import { loadRegionRegistry } from '@mercato/adapters/regions/region-registry-file';
import { flagError } from '@mercato/platform/flags';
import { ResidencyGuard } from '@mercato/proto/v1/residency';
import { decisionsTopic } from '@mercato/proto/v1/topics';
import type { DecisionStreamTarget } from '../decision-log/decision-stream-sinks.js';

export interface RawServeRegionFlags {
  region?: string;
  regionsFile?: string;
  redis?: string;
}

/** Builds the sidecar's residency guard from its flags; throws INVALID_FLAG naming the flag. */
export function parseServeResidency(
  raw: RawServeRegionFlags & { region: string },
  redisUrl: string | null,
  stream: DecisionStreamTarget | null,
): ResidencyGuard {
  const registry = rethrowAs('--regions-file', () => loadRegionRegistry(raw.regionsFile));
  const guard = rethrowAs('--region', () => new ResidencyGuard(registry, raw.region, '--region'));
  if (redisUrl !== null) rethrowAs('--redis', () => guard.checkRedis(redisUrl, '--redis'));
  if (stream !== null) {
    rethrowAs('--decision-stream', () =>
      guard.clear(
        'user-level',
        stream.kind === 'kafka'
          ? { kind: 'topic', topic: decisionsTopic(guard.region), brokers: stream.brokers }
          : { kind: 'file', path: stream.path },
        '--decision-stream',
      ),
    );
  }
  return guard;
}

function rethrowAs<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    const msg = (err as Error).message;
    throw flagError(flag, msg.startsWith(`${flag}: `) ? msg.slice(flag.length + 2) : msg);
  }
}
