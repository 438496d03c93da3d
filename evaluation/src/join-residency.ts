/**
 * The region part of `atp-evaluate run`: the outcome join reads decision and
 * outcome records (user-level data) of its own region only. `--region` must
 * be known to the registry (`--regions-file`, else the default registry);
 * the topics it reads and dead-letters to (`atp.decisions.<region>`,
 * `order.outcomes.<region>`, their `.dlq`) and the brokers it reads them
 * from must be the region's (brokers the registry names for another region
 * are refused). Every refusal is INVALID_FLAG naming the flag.
 */
import { loadRegionRegistry } from '@mercato/adapters/regions/region-registry-file';
import { flagError } from '@mercato/platform/flags';
import { ResidencyGuard } from '@mercato/proto/v1/residency';
import { deadLetterTopic } from '@mercato/proto/v1/topics';

/** Builds the join's residency guard; `topics` are the topics it will read (their dead letters are checked too). */
export function joinResidency(
  region: string,
  regionsFile: string | undefined,
  kafka: { brokers: readonly string[]; topics: readonly string[] } | null,
): ResidencyGuard {
  const registry = as('--regions-file', () => loadRegionRegistry(regionsFile));
  const guard = as('--region', () => new ResidencyGuard(registry, region, '--region'));
  if (kafka !== null) {
    as('--brokers', () => guard.checkBrokers(kafka.brokers, '--brokers'));
    for (const topic of kafka.topics) {
      as('--region', () => {
        guard.clear('user-level', { kind: 'topic', topic, brokers: kafka.brokers }, '--region');
        guard.clear('user-level', { kind: 'topic', topic: deadLetterTopic(topic) }, '--region');
      });
    }
  }
  return guard;
}

function as<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    const msg = (err as Error).message;
    throw flagError(flag, msg.startsWith(`${flag}: `) ? msg.slice(flag.length + 2) : msg);
  }
}

/**
 * `atp-evaluate report --html/--json-file … --export-region R`: the
 * business-impact files are aggregates (`metrics`), written for region R.
 * Each region the report covers must be allowed a metrics flow to R by the
 * registry (its own region always is); refused naming `--export-region`.
 */
export function clearReportExport(
  reportRegions: readonly string[],
  exportRegion: string,
  regionsFile: string | undefined,
  paths: readonly string[],
): void {
  const registry = as('--regions-file', () => loadRegionRegistry(regionsFile));
  for (const region of reportRegions) {
    const guard = as('--export-region', () => new ResidencyGuard(registry, region, '--export-region'));
    for (const path of paths) {
      as('--export-region', () =>
        guard.clear('metrics', { kind: 'file', path, region: exportRegion }, '--export-region'),
      );
    }
  }
}
