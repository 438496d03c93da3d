/**
 * Checks across components of one rendered region: the region values agree
 * everywhere, KEDA watches the topic and group the ingester really consumes,
 * the checkout pod's sidecar is where mesh-config's Envoy cluster calls it,
 * the sidecar dials the control plane's real ports, and grace periods cover
 * the code's stop deadlines. Problems as strings, [] = consistent.
 */
import { STOP_DEADLINE_MS as CONTROL_PLANE_STOP_MS } from '../../control-plane/src/main.js';
import { STOP_DEADLINE_MS as INGEST_STOP_MS, parseIngestArgs } from '../../ingest/src/main.js';
import { mutationsTopic } from '../../proto/v1/topics.js';
import {
  type Container,
  containerPort,
  containersOf,
  flagValues,
  listeningOf,
  resolvedArgs,
} from './checks.js';
import type { Doc } from './render.js';

const SIDECAR_CLUSTER = 'atp-sidecar';

function find(docs: Doc[], kind: string, name: string, namespace?: string): Doc | undefined {
  return docs.find(
    (d) =>
      d.kind === kind &&
      d.metadata?.name === name &&
      (namespace === undefined || d.metadata?.namespace === namespace),
  );
}

function containerRunning(docs: Doc[], commandEnd: string): Container | undefined {
  return containersOf(docs).find((k) => ((k.c.command ?? []) as string[]).join(' ').endsWith(commandEnd));
}

/** `docs`: a region overlay's rendering plus the checkout workload rendered with the sidecar Component. */
export function regionProblems(docs: Doc[], region: string): string[] {
  const problems: string[] = [];

  // One region, one Redis, in both namespaces and in the filter's configuration.
  const cms = docs.filter((d) => d.kind === 'ConfigMap' && d.metadata?.name === 'atp-region');
  if (cms.length < 2)
    problems.push('ConfigMap atp-region: expected one in namespace atp and one in checkout');
  for (const cm of cms) {
    if (cm.data?.ATP_REGION !== region) {
      problems.push(
        `ConfigMap atp-region (${cm.metadata.namespace}): ATP_REGION ${cm.data?.ATP_REGION} != ${region}`,
      );
    }
    if (cm.data?.ATP_REDIS_URL !== cms[0]?.data?.ATP_REDIS_URL) {
      problems.push(
        `ConfigMap atp-region (${cm.metadata.namespace}): ATP_REDIS_URL differs between namespaces`,
      );
    }
  }
  const plugin = docs.find((d) => d.kind === 'WasmPlugin');
  if (plugin?.spec?.pluginConfig?.region !== region) {
    problems.push(`WasmPlugin: pluginConfig.region ${plugin?.spec?.pluginConfig?.region} != ${region}`);
  }

  // KEDA watches what the ingester consumes (the code's parsed config, defaults included).
  const ingester = containerRunning(docs, 'ingest/src/main.ts');
  const scaled = find(docs, 'ScaledObject', 'atp-ingester');
  if (ingester === undefined || scaled === undefined) {
    problems.push('the ingester Deployment and its ScaledObject must both be rendered');
  } else {
    try {
      const config = parseIngestArgs(resolvedArgs(ingester, docs, problems));
      const kafka = ((scaled.spec?.triggers ?? []) as Doc[]).find((t) => t.type === 'kafka')?.metadata ?? {};
      if (kafka.topic !== config.topic)
        problems.push(`ScaledObject: topic ${kafka.topic} != ingester's ${config.topic}`);
      if (config.topic !== mutationsTopic(region))
        problems.push(`ingester: topic ${config.topic} is not ${region}'s`);
      if (kafka.consumerGroup !== config.groupId) {
        problems.push(`ScaledObject: consumerGroup ${kafka.consumerGroup} != ingester's ${config.groupId}`);
      }
      if (kafka.bootstrapServers !== config.brokers.join(',')) {
        problems.push(`ScaledObject: bootstrapServers ${kafka.bootstrapServers} != ingester's --brokers`);
      }
      if (scaled.spec?.scaleTargetRef?.name !== ingester.workload.metadata?.name) {
        problems.push('ScaledObject: scaleTargetRef is not the ingester Deployment');
      }
    } catch (err) {
      problems.push(`ingester: the code refuses its flags: ${(err as Error).message}`);
    }
    graceCovers(ingester, INGEST_STOP_MS, problems);
  }

  const controlPlane = containerRunning(docs, 'atp-control-plane serve');
  if (controlPlane === undefined) problems.push('the control plane Deployment must be rendered');
  else graceCovers(controlPlane, CONTROL_PLANE_STOP_MS, problems);

  // The checkout pod's sidecar: where the filter's Envoy cluster calls it, dialing the real control plane.
  const sidecar = containerRunning(docs, 'sidecar/src/main.ts serve');
  if (sidecar === undefined) {
    problems.push('the checkout Deployment with the atp-sidecar container must be rendered');
    return problems;
  }
  const sidecarPorts = listeningOf(sidecar, docs, problems);
  const cluster = find(docs, 'EnvoyFilter', 'atp-sidecar-cluster')?.spec?.configPatches?.[0]?.patch?.value;
  const clusterPort =
    cluster?.load_assignment?.endpoints?.[0]?.lb_endpoints?.[0]?.endpoint?.address?.socket_address
      ?.port_value;
  if (cluster?.name !== SIDECAR_CLUSTER)
    problems.push(`EnvoyFilter atp-sidecar-cluster: no ${SIDECAR_CLUSTER} cluster`);
  if (sidecarPorts !== null && sidecarPorts.ports[0] !== clusterPort) {
    problems.push(
      `${sidecar.where}: --http-port ${sidecarPorts.ports[0]} != the Envoy cluster's port ${clusterPort}`,
    );
  }
  const healthPath = cluster?.health_checks?.[0]?.http_health_check?.path;
  if (sidecar.c.readinessProbe?.httpGet?.path !== healthPath) {
    problems.push(
      `${sidecar.where}: readinessProbe path is not the Envoy cluster's health check (${healthPath})`,
    );
  }
  const selector = (plugin?.spec?.selector?.matchLabels ?? {}) as Record<string, string>;
  if (!Object.entries(selector).every(([key, v]) => sidecar.podLabels[key] === v)) {
    problems.push(`${sidecar.where}: the WasmPlugin's selector does not select the pod`);
  }
  if (plugin?.metadata?.namespace !== sidecar.namespace) {
    problems.push(`${sidecar.where}: not in the WasmPlugin's namespace ${plugin?.metadata?.namespace}`);
  }
  const args = flagValues(resolvedArgs(sidecar, docs, problems));
  const cpPorts = controlPlane === undefined ? null : listeningOf(controlPlane, docs, problems);
  const watch = args.get('--control-plane')?.[0] ?? '';
  const url = /^https?:\/\/([^/]+)/.exec(args.get('--control-url')?.[0] ?? '')?.[1] ?? '';
  for (const [flag, address, want] of [
    ['--control-plane', watch, cpPorts?.ports[1]],
    ['--control-url', url, cpPorts?.ports[0]],
  ] as const) {
    const got = serviceTarget(docs, address);
    if (got === null || got !== want) {
      problems.push(
        `${sidecar.where}: ${flag} ${address} reaches port ${got} of the control plane, not ${want}`,
      );
    }
  }
  return problems;
}

/** `name.ns.svc.cluster.local:port` -> the container port number the Service forwards it to. */
function serviceTarget(docs: Doc[], address: string): number | null {
  const m = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(address);
  if (m === null) return null;
  const svc = find(docs, 'Service', m[1] as string, m[2]);
  const port = ((svc?.spec?.ports ?? []) as Doc[]).find((p) => p.port === Number(m[3]));
  if (svc === undefined || port === undefined) return null;
  const selector = (svc.spec.selector ?? {}) as Record<string, string>;
  const pod = containersOf(docs).find(
    (k) => k.namespace === m[2] && Object.entries(selector).every(([key, v]) => k.podLabels[key] === v),
  );
  return pod === undefined ? null : containerPort(pod.c, port.targetPort ?? port.port);
}

function graceCovers(k: Container, stopDeadlineMs: number, problems: string[]): void {
  const grace = (k.podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
  if (grace <= stopDeadlineMs) {
    problems.push(`${k.where}: terminationGracePeriodSeconds ${grace / 1000} s <= the code's stop deadline`);
  }
}
