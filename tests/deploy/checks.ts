/**
 * Cross-checks of rendered deploy/ manifests against the code they run.
 * Every function returns a list of problems (strings naming the object and
 * what is wrong); [] means consistent. deploy.test.ts asserts [] on the real
 * manifests and checker.test.ts proves each check fails on a broken copy.
 *
 * - Commands: a container's `command` is the entry (program + subcommand),
 *   its `args` only flags and values. The entry is run here with `--help`
 *   (the image's /app is this repository) and every flag in args must be one
 *   the help lists; `$(VAR)` references must resolve through the container's
 *   env (ConfigMaps of the same namespace, the downward API).
 * - Values: the sidecar's, the ingester's and the control plane's args (with
 *   env resolved) go through the code's own flag validators, which yield the
 *   ports each process listens on and where.
 * - Ports: every containerPort, probe port and Service targetPort is one the
 *   process listens on, on an address the kubelet and the mesh can reach.
 * - Policy: probes on every long-running container, resource requests and a
 *   memory limit, non-root with a read-only root filesystem.
 */
import { spawnSync } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import { serveConfig } from '../../control-plane/src/main.js';
import { parseIngestArgs } from '../../ingest/src/main.js';
import { parseServeFlags } from '../../sidecar/src/cli/serve-flags.js';
import { type Doc, REPO_ROOT } from './render.js';

/** Where the image keeps the repository (containers' workingDir). */
export const IMAGE_ROOT = '/app';
/**
 * The shape of the one Secret value the code reads through env
 * (ATP_CONTROL_DB, Secret atp-control-db key `url`): manifests never carry
 * it, so the check feeds the code a value of the documented form.
 */
export const SECRET_SAMPLES: Record<string, string> = {
  'atp-control-db/url': 'postgres://atp@postgres.atp.svc.cluster.local:5432/atp',
};
export const ATP_NAMESPACE = 'atp';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface Container {
  /** `Deployment checkout / atp-sidecar` */
  where: string;
  workload: Doc;
  namespace: string;
  podSpec: Doc;
  podLabels: Record<string, string>;
  c: Doc;
  longRunning: boolean;
}

/**
 * ATP's containers among the Deployments and CronJobs of `docs`: every
 * container in namespace `atp`, and those named `atp-*` elsewhere (the
 * sidecar in the checkout team's pods; their own containers are theirs).
 */
export function containersOf(docs: Doc[]): Container[] {
  const out: Container[] = [];
  for (const d of docs) {
    const tpl =
      d.kind === 'Deployment'
        ? d.spec?.template
        : d.kind === 'CronJob'
          ? d.spec?.jobTemplate?.spec?.template
          : null;
    if (tpl === null || tpl === undefined) continue;
    for (const c of (tpl.spec?.containers ?? []) as Doc[]) {
      if (d.metadata?.namespace !== ATP_NAMESPACE && !String(c.name).startsWith('atp-')) continue;
      out.push({
        where: `${d.kind} ${d.metadata?.name} / ${c.name}`,
        workload: d,
        namespace: d.metadata?.namespace ?? 'default',
        podSpec: tpl.spec,
        podLabels: tpl.metadata?.labels ?? {},
        c,
        longRunning: d.kind === 'Deployment',
      });
    }
  }
  return out;
}

/** The container's env as strings; `null` for a value the manifests do not carry. */
export function envOf(k: Container, docs: Doc[]): Map<string, string | null> {
  const env = new Map<string, string | null>();
  for (const e of (k.c.env ?? []) as Doc[]) {
    if (e.value !== undefined) env.set(e.name, String(e.value));
    else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const cm = docs.find(
        (d) =>
          d.kind === 'ConfigMap' && d.metadata?.name === ref.name && d.metadata?.namespace === k.namespace,
      );
      env.set(e.name, cm?.data?.[ref.key] ?? null);
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      env.set(e.name, SECRET_SAMPLES[`${ref.name}/${ref.key}`] ?? null);
    } else if (e.valueFrom?.fieldRef) {
      env.set(e.name, `${e.valueFrom.fieldRef.fieldPath.replace(/\W/g, '-')}-0`);
    } else env.set(e.name, null);
  }
  return env;
}

/** args with `$(VAR)` expanded as the kubelet does; unresolved references are problems. */
export function resolvedArgs(k: Container, docs: Doc[], problems: string[]): string[] {
  const env = envOf(k, docs);
  return ((k.c.args ?? []) as unknown[]).map((a) =>
    String(a).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, name: string) => {
      const v = env.get(name);
      if (v === undefined || v === null) {
        problems.push(`${k.where}: $(${name}) has no value in the container's env (ConfigMap key missing?)`);
        return '';
      }
      return v;
    }),
  );
}

/** The local command line of a container entry: node is this node, image paths are this repository's. */
export function localEntry(command: readonly string[], workingDir = IMAGE_ROOT): string[] {
  return command.map((part, i) => {
    if (i === 0 && part === 'node') return process.execPath;
    if (part.startsWith(`${IMAGE_ROOT}/`)) return join(REPO_ROOT, part.slice(IMAGE_ROOT.length + 1));
    if (!part.startsWith('-') && /\.(ts|js)$/.test(part) && !isAbsolute(part)) {
      return join(REPO_ROOT, workingDir.slice(IMAGE_ROOT.length), part);
    }
    return part;
  });
}

export interface Help {
  ok: boolean;
  text: string;
  /** --flag -> takes a value */
  flags: Map<string, boolean>;
}

const helpCache = new Map<string, Help>();

/** Runs `<entry> --help` (cached) and reads the flags it lists. */
export function helpOf(command: readonly string[], workingDir?: string): Help {
  const key = JSON.stringify([command, workingDir]);
  const cached = helpCache.get(key);
  if (cached !== undefined) return cached;
  const [bin, ...rest] = localEntry(command, workingDir);
  const r = spawnSync(bin ?? '', [...rest, '--help'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const flags = new Map<string, boolean>();
  for (const m of text.matchAll(/^\s+(?:-\w, )?(--[a-z0-9-]+)( <[^>]+>| \[[^\]]+\])?/gm)) {
    flags.set(m[1] as string, m[2] !== undefined);
  }
  const help = { ok: r.status === 0, text, flags };
  helpCache.set(key, help);
  return help;
}

/** Flags and values of a resolved args list, as commander would camel-case them. */
export function flagValues(args: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (!a.startsWith('--')) continue;
    const next = args[i + 1];
    const value = next !== undefined && !next.startsWith('--') ? next : '';
    out.set(a, [...(out.get(a) ?? []), value]);
  }
  return out;
}

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Raw commander-style options: last value wins, repeatable flags as lists,
 * flags that take no value (per the entry's help) as `true`.
 */
function rawFlags(
  args: readonly string[],
  help: Help,
  repeatable: readonly string[] = [],
): Record<string, any> {
  const raw: Record<string, any> = {};
  for (const [flag, values] of flagValues(args)) {
    if (help.flags.get(flag) === false) raw[camel(flag)] = true;
    else raw[camel(flag)] = repeatable.includes(flag) ? values : values[values.length - 1];
  }
  return raw;
}

/** Entry, help and flags of every container: the entry must be a real command whose help lists each flag. */
export function commandProblems(docs: Doc[]): string[] {
  const problems: string[] = [];
  for (const k of containersOf(docs)) {
    const command = (k.c.command ?? []) as string[];
    if (command.length === 0) {
      problems.push(`${k.where}: no command (the image has no default entry)`);
      continue;
    }
    const help = helpOf(command, k.c.workingDir);
    if (!help.ok || !/^Usage: /m.test(help.text)) {
      problems.push(`${k.where}: \`${command.join(' ')} --help\` failed: ${help.text.slice(0, 300)}`);
      continue;
    }
    // A subcommand (last word, not a file) must be what the help describes, not a fallback to the parent's help.
    const last = command[command.length - 1] as string;
    if (command.length > 1 && !last.includes('/') && !last.startsWith('-')) {
      const usage = /^Usage: (.*)$/m.exec(help.text)?.[1] ?? '';
      if (!usage.split(' ').includes(last)) {
        problems.push(
          `${k.where}: ${last} is not a subcommand of ${command.slice(0, -1).join(' ')} (${usage})`,
        );
      }
    }
    const args = resolvedArgs(k, docs, problems);
    for (const [i, a] of args.entries()) {
      if (!a.startsWith('--')) {
        const prev = args[i - 1];
        if (prev === undefined || !prev.startsWith('--') || help.flags.get(prev) !== true) {
          problems.push(`${k.where}: argument "${a}" is not the value of a flag`);
        }
        continue;
      }
      const takesValue = help.flags.get(a);
      if (takesValue === undefined) {
        problems.push(`${k.where}: ${a} is not a flag of \`${command.join(' ')}\``);
      } else if (takesValue && (args[i + 1] === undefined || args[i + 1]?.startsWith('--'))) {
        problems.push(`${k.where}: ${a} needs a value`);
      }
    }
  }
  return problems;
}

/** Where a process listens, from the code's own validators. */
export interface Listening {
  host: string;
  ports: number[];
}

/** Runs the component's flag validator on the container's resolved args. */
export function listeningOf(k: Container, docs: Doc[], problems: string[]): Listening | null {
  const args = resolvedArgs(k, docs, problems);
  const command = ((k.c.command ?? []) as string[]).join(' ');
  const help = helpOf((k.c.command ?? []) as string[], k.c.workingDir);
  try {
    if (command.endsWith('sidecar/src/main.ts serve')) {
      const c = parseServeFlags(rawFlags(args, help));
      return { host: c.host, ports: [c.httpPort, c.grpcPort] };
    }
    if (command.endsWith('ingest/src/main.ts')) {
      const c = parseIngestArgs(args);
      return { host: c.metricsHost, ports: c.metricsPort === null ? [] : [c.metricsPort] };
    }
    if (command.endsWith('atp-control-plane serve')) {
      const env = envOf(k, docs);
      const c = serveConfig(rawFlags(args, help, ['--trusted-key']), {
        ATP_CONTROL_DB: env.get('ATP_CONTROL_DB') ?? undefined,
      });
      return { host: c.host, ports: [c.httpPort, c.grpcPort] };
    }
  } catch (err) {
    problems.push(`${k.where}: the code refuses its flags: ${(err as Error).message}`);
    return null;
  }
  return null;
}

/** The number a probe or Service port names on a container (a number or a port name). */
export function containerPort(c: Doc, port: unknown): number | null {
  if (typeof port === 'number') return port;
  const p = ((c.ports ?? []) as Doc[]).find((x) => x.name === port);
  return p === undefined ? null : (p.containerPort as number);
}

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

/** Ports, probes, security and resources of every container. */
export function containerProblems(docs: Doc[]): string[] {
  const problems: string[] = [];
  for (const k of containersOf(docs)) {
    const { c } = k;
    const listening = listeningOf(k, docs, problems);
    if (k.longRunning) {
      if (listening === null) {
        problems.push(`${k.where}: no flag validator known for \`${(c.command ?? []).join(' ')}\``);
      } else {
        if (LOOPBACK.has(listening.host)) {
          problems.push(`${k.where}: binds ${listening.host}: the kubelet's probes cannot reach it`);
        }
        for (const p of (c.ports ?? []) as Doc[]) {
          if (!listening.ports.includes(p.containerPort)) {
            problems.push(
              `${k.where}: containerPort ${p.containerPort} is not a port the process listens on`,
            );
          }
        }
        for (const probe of PROBES) {
          const get = c[probe]?.httpGet;
          if (get === undefined) continue;
          const n = containerPort(c, get.port);
          if (n === null || !listening.ports.includes(n)) {
            problems.push(`${k.where}: ${probe} port ${get.port} is not a port the process listens on`);
          }
        }
      }
      for (const probe of ['livenessProbe', 'readinessProbe'] as const) {
        if (c[probe]?.httpGet?.path === undefined) problems.push(`${k.where}: no ${probe} (httpGet)`);
      }
    }
    const req = c.resources?.requests ?? {};
    if (req.cpu === undefined || req.memory === undefined)
      problems.push(`${k.where}: no cpu/memory requests`);
    if (c.resources?.limits?.memory === undefined) problems.push(`${k.where}: no memory limit`);
    const sc = c.securityContext ?? {};
    const pod = k.podSpec.securityContext ?? {};
    if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${k.where}: not runAsNonRoot`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${k.where}: runs as uid 0`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${k.where}: root filesystem not read-only`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${k.where}: privilege escalation allowed`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${k.where}: capabilities not dropped`);
    // A read-only root needs somewhere writable for tsx's compile cache and temp files.
    if (!((c.volumeMounts ?? []) as Doc[]).some((m) => m.mountPath === '/tmp')) {
      problems.push(`${k.where}: read-only root without a /tmp volume`);
    }
  }
  return problems;
}

/** Pods of `namespace` whose labels match a label selector. */
export function selectedContainers(docs: Doc[], namespace: string, selector: Doc): Container[] {
  const match = (labels: Record<string, string>) =>
    Object.entries(selector.matchLabels ?? {}).every(([key, v]) => labels[key] === v) &&
    ((selector.matchExpressions ?? []) as Doc[]).every((e) =>
      e.operator === 'In' ? (e.values as string[]).includes(labels[e.key] ?? '') : false,
    );
  return containersOf(docs).filter((k) => k.namespace === namespace && match(k.podLabels));
}

/** Services, PodDisruptionBudgets and NetworkPolicies point at real pods and ports. */
export function wiringProblems(docs: Doc[]): string[] {
  const problems: string[] = [];
  for (const d of docs) {
    const ns = d.metadata?.namespace ?? 'default';
    const where = `${d.kind} ${d.metadata?.name}`;
    if (d.kind === 'Service') {
      const pods = selectedContainers(docs, ns, { matchLabels: d.spec?.selector ?? {} });
      if (pods.length === 0) problems.push(`${where}: selects no pod`);
      for (const p of (d.spec?.ports ?? []) as Doc[]) {
        if (!pods.some((k) => containerPort(k.c, p.targetPort ?? p.port) !== null)) {
          problems.push(`${where}: targetPort ${p.targetPort} is no container port of the pods it selects`);
        }
      }
    }
    if (d.kind === 'PodDisruptionBudget') {
      const pods = selectedContainers(docs, ns, d.spec?.selector ?? {});
      if (pods.length === 0) problems.push(`${where}: selects no pod`);
      for (const k of pods) {
        const scaled = docs.find(
          (s) => s.kind === 'ScaledObject' && s.spec?.scaleTargetRef?.name === k.workload.metadata?.name,
        );
        const least = scaled?.spec?.minReplicaCount ?? k.workload.spec?.replicas ?? 1;
        if (typeof d.spec?.minAvailable === 'number' && least <= d.spec.minAvailable) {
          problems.push(
            `${where}: minAvailable ${d.spec.minAvailable} with ${least} replicas blocks every drain`,
          );
        }
      }
    }
    if (d.kind === 'NetworkPolicy') {
      const pods = selectedContainers(docs, ns, d.spec?.podSelector ?? {});
      if (pods.length === 0) problems.push(`${where}: selects no pod`);
      for (const rule of (d.spec?.ingress ?? []) as Doc[]) {
        for (const p of (rule.ports ?? []) as Doc[]) {
          if (!pods.some((k) => containerPort(k.c, p.port) !== null)) {
            problems.push(`${where}: port ${p.port} is no container port of the pods it selects`);
          }
        }
      }
    }
    if (d.kind === 'ScaledObject') {
      const ref = d.spec?.scaleTargetRef ?? {};
      if (!docs.some((w) => w.kind === (ref.kind ?? 'Deployment') && w.metadata?.name === ref.name)) {
        problems.push(`${where}: scaleTargetRef ${ref.name} is not in the manifests`);
      }
    }
  }
  return problems;
}
