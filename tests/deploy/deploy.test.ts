/**
 * deploy/ against Kubernetes' schemas and against the code it runs, for
 * every region overlay: the overlay renders (with the real kustomize where
 * kubectl is installed, and with the JSON 6902 renderer, which must agree),
 * every document validates against its package schema (kubernetes-models,
 * KEDA's and Istio's CRD models), every command, flag and value is accepted
 * by the real entry points, ports, probes, Services, budgets and policies
 * line up, and the cross-component values (KEDA's topic and group, the mesh's
 * sidecar cluster, the control plane's ports) are the code's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { parse } from 'yaml';
import { commandProblems, containerProblems, wiringProblems } from './checks.js';
import { regionProblems } from './region-checks.js';
import {
  type Doc,
  keyOf,
  kustomizeAvailable,
  parseYamlDocs,
  REPO_ROOT,
  renderKustomization,
  renderWithKustomize,
} from './render.js';
import { schemaProblems } from './schemas.js';

const DEPLOY = join(REPO_ROOT, 'deploy');
const OVERLAYS = join(DEPLOY, 'overlays');
const MESH_OVERLAYS = join(REPO_ROOT, 'mesh-config', 'overlays');
const CHECKOUT_FIXTURE = join(REPO_ROOT, 'tests', 'deploy', 'fixtures', 'checkout');
const KUSTOMIZE = kustomizeAvailable();

const dirsOf = (dir: string) =>
  readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
const REGIONS = dirsOf(OVERLAYS);

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.yaml'))
    .map((d) => join(d.parentPath, d.name));
}

/** The real kustomize's rendering where kubectl exists, else the JSON 6902 renderer's. */
function render(dir: string): Doc[] {
  return KUSTOMIZE ? renderWithKustomize(dir) : renderKustomization(dir);
}

const rendered = new Map<string, Doc[]>();

/** A region as deployed: its overlay plus the checkout workload with the sidecar Component (a fresh copy). */
function renderRegion(region: string): Doc[] {
  let docs = rendered.get(region);
  if (docs === undefined) {
    docs = [...render(join(OVERLAYS, region)), ...render(CHECKOUT_FIXTURE)];
    rendered.set(region, docs);
  }
  return structuredClone(docs);
}

t.test('every YAML file under deploy/ parses', async (t) => {
  const files = yamlFiles(DEPLOY);
  t.ok(files.length >= 15, `${files.length} files`);
  for (const f of files) {
    t.doesNotThrow(() => parseYamlDocs(readFileSync(f, 'utf8'), f), relative(REPO_ROOT, f));
  }
});

t.test('the overlays are the mesh-config regions, and only replace values', async (t) => {
  t.ok(REGIONS.length >= 2, `regions: ${REGIONS.join(', ')}`);
  t.same(REGIONS, dirsOf(MESH_OVERLAYS), 'one deploy overlay per mesh-config overlay');
  for (const region of REGIONS) {
    const k = parse(readFileSync(join(OVERLAYS, region, 'kustomization.yaml'), 'utf8')) as Doc;
    t.same(
      k.resources,
      ['../../base', `../../../mesh-config/overlays/${region}`],
      `${region}: base + its mesh overlay`,
    );
    const ops = (k.patches as Doc[]).flatMap((p) => parse(p.patch) as Doc[]);
    t.ok(ops.length > 0, `${region}: patches something`);
    t.same([...new Set(ops.map((o) => o.op))], ['replace'], `${region}: replace operations only`);
  }
});

t.test(
  'the JSON 6902 renderer and kustomize render the same documents',
  { skip: KUSTOMIZE ? false : 'kubectl (kustomize) is not installed here; the renderer alone is used' },
  async (t) => {
    for (const dir of [...REGIONS.map((r) => join(OVERLAYS, r)), CHECKOUT_FIXTURE]) {
      const real = new Map(renderWithKustomize(dir).map((d) => [keyOf(d), d]));
      const ours = new Map(renderKustomization(dir).map((d) => [keyOf(d), d]));
      t.same([...ours.keys()].sort(), [...real.keys()].sort(), `${relative(REPO_ROOT, dir)}: same objects`);
      for (const [key, doc] of real) {
        t.ok(isDeepStrictEqual(ours.get(key), doc), `${relative(REPO_ROOT, dir)}: ${key} identical`);
      }
    }
  },
);

t.test('every rendered document validates against its package schema', async (t) => {
  for (const region of REGIONS) {
    const docs = renderRegion(region);
    const kinds = new Set(docs.map((d) => d.kind));
    for (const kind of [
      'Deployment',
      'CronJob',
      'ScaledObject',
      'PodDisruptionBudget',
      'Service',
      'NetworkPolicy',
      'WasmPlugin',
    ]) {
      t.ok(kinds.has(kind), `${region}: renders a ${kind}`);
    }
    t.same(docs.flatMap(schemaProblems), [], `${region}: ${docs.length} documents valid`);
  }
});

t.test('every command, flag and value is one the code accepts', async (t) => {
  // Flags are region-independent; values are checked per region below.
  const docs = renderRegion(REGIONS[0] as string);
  t.same(commandProblems(docs), [], 'entries run with --help and list every flag used');
});

t.test('ports, probes, security and resources of every container', async (t) => {
  for (const region of REGIONS) {
    t.same(containerProblems(renderRegion(region)), [], region);
  }
});

t.test(
  'Services, disruption budgets, policies and the ScaledObject select real pods and ports',
  async (t) => {
    for (const region of REGIONS) {
      t.same(wiringProblems(renderRegion(region)), [], region);
    }
  },
);

t.test('each region agrees with itself, with the mesh and with the code', async (t) => {
  for (const region of REGIONS) {
    t.same(regionProblems(renderRegion(region), region), [], region);
  }
});
