/**
 * The deploy checks fail when a manifest breaks: each case edits a copy of
 * the rendered eu-west region (or of a kustomization) the way a careless
 * change would, and the check that guards it must name the problem. The
 * untouched copy passes every check (deploy.test.ts), so each failure here
 * is caused by the one edit.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { commandProblems, containerProblems, containersOf, wiringProblems } from './checks.js';
import { regionProblems } from './region-checks.js';
import {
  type Doc,
  kustomizeAvailable,
  REPO_ROOT,
  renderKustomization,
  renderWithKustomize,
} from './render.js';
import { schemaProblems } from './schemas.js';

const REGION = 'eu-west';
const render = kustomizeAvailable() ? renderWithKustomize : renderKustomization;
const PRISTINE: Doc[] = [
  ...render(join(REPO_ROOT, 'deploy', 'overlays', REGION)),
  ...render(join(REPO_ROOT, 'tests', 'deploy', 'fixtures', 'checkout')),
];

/** A fresh copy of the region, and the ATP container whose command ends with `entry` in it. */
function copyWith(entry: string): { docs: Doc[]; c: Doc; pod: Doc } {
  const docs = structuredClone(PRISTINE);
  const k = containersOf(docs).find((x) => (x.c.command as string[]).join(' ').endsWith(entry));
  if (k === undefined) throw new Error(`no container runs ${entry}`);
  return { docs, c: k.c, pod: k.podSpec };
}

/** The one document matching `pred` (a missing one is a broken test, not a passing check). */
function one(docs: Doc[], pred: (d: Doc) => boolean): Doc {
  const d = docs.find(pred);
  if (d === undefined) throw new Error('no such document in the rendered region');
  return d;
}

function setFlag(c: Doc, flag: string, value: string): void {
  const i = (c.args as string[]).indexOf(flag);
  if (i < 0) throw new Error(`${flag} not in args`);
  c.args[i + 1] = value;
}

const SIDECAR = 'sidecar/src/main.ts serve';
const INGEST = 'ingest/src/main.ts';
const CONTROL = 'atp-control-plane serve';

t.test('a flag the entry does not have', async (t) => {
  const { docs, c } = copyWith(INGEST);
  c.args.push('--partitions', '12');
  t.match(
    commandProblems(docs).join('\n'),
    /--partitions is not a flag of `node --import tsx ingest\/src\/main\.ts`/,
  );
});

t.test('a subcommand that does not exist, and an entry that does not exist', async (t) => {
  const bad = copyWith('atp-batch directory');
  bad.c.command = ['/app/node_modules/.bin/atp-batch', 'directroy'];
  t.match(commandProblems(bad.docs).join('\n'), /directroy is not a subcommand of/);

  const gone = copyWith(INGEST);
  gone.c.command = ['node', '--import', 'tsx', 'ingest/src/ingest.ts'];
  t.match(commandProblems(gone.docs).join('\n'), /`node --import tsx ingest\/src\/ingest\.ts --help` failed/);
});

t.test('a value the code refuses, and a flag without its value', async (t) => {
  const refused = copyWith(INGEST);
  setFlag(refused.c, '--metrics-port', 'nine');
  t.match(containerProblems(refused.docs).join('\n'), /the code refuses its flags: .*--metrics-port/);

  const noValue = copyWith(CONTROL);
  noValue.c.args = noValue.c.args.filter((a: string) => a !== '/etc/atp/trusted-keys');
  t.match(commandProblems(noValue.docs).join('\n'), /--trusted-key needs a value/);
});

t.test('an env reference that resolves to nothing', async (t) => {
  const { docs } = copyWith(SIDECAR);
  const cm = one(docs, (d) => d.kind === 'ConfigMap' && d.metadata.namespace === 'checkout');
  delete cm.data.ATP_REDIS_URL;
  t.match(commandProblems(docs).join('\n'), /\$\(ATP_REDIS_URL\) has no value/);
});

t.test('a probe on a port the process does not listen on, and a loopback bind', async (t) => {
  const port = copyWith(SIDECAR);
  port.c.readinessProbe.httpGet.port = 8787;
  t.match(
    containerProblems(port.docs).join('\n'),
    /readinessProbe port 8787 is not a port the process listens on/,
  );

  const loopback = copyWith(INGEST);
  setFlag(loopback.c, '--metrics-host', '127.0.0.1');
  t.match(containerProblems(loopback.docs).join('\n'), /binds 127\.0\.0\.1/);
});

t.test('missing probes, resources and hardening', async (t) => {
  const { docs, c } = copyWith(CONTROL);
  delete c.livenessProbe;
  delete c.resources.requests;
  c.securityContext.readOnlyRootFilesystem = false;
  const problems = containerProblems(docs).join('\n');
  t.match(problems, /no livenessProbe/);
  t.match(problems, /no cpu\/memory requests/);
  t.match(problems, /root filesystem not read-only/);
});

t.test('a Service port and a budget that point nowhere', async (t) => {
  const { docs } = copyWith(CONTROL);
  const svc = one(docs, (d) => d.kind === 'Service');
  svc.spec.ports[1].targetPort = 'grpc';
  const pdb = one(docs, (d) => d.kind === 'PodDisruptionBudget' && d.metadata.name === 'atp-control-plane');
  pdb.spec.minAvailable = 2;
  const problems = wiringProblems(docs).join('\n');
  t.match(problems, /Service atp-control-plane: targetPort grpc is no container port/);
  t.match(problems, /minAvailable 2 with 2 replicas blocks every drain/);
});

t.test('KEDA watching another group, and a grace period shorter than the stop deadline', async (t) => {
  const { docs, pod } = copyWith(INGEST);
  const scaled = one(docs, (d) => d.kind === 'ScaledObject');
  scaled.spec.triggers[0].metadata.consumerGroup = 'atp-ingest';
  pod.terminationGracePeriodSeconds = 20;
  const problems = regionProblems(docs, REGION).join('\n');
  t.match(problems, /consumerGroup atp-ingest != ingester's atp-ingest-eu-west/);
  t.match(problems, /terminationGracePeriodSeconds 20 s <= the code's stop deadline/);
});

t.test("the sidecar off the mesh's cluster port, and dialing the wrong control-plane port", async (t) => {
  const { docs, c } = copyWith(SIDECAR);
  setFlag(c, '--http-port', '8091');
  c.ports[0].containerPort = 8091;
  setFlag(c, '--control-plane', 'atp-control-plane.atp.svc.cluster.local:7070');
  const problems = regionProblems(docs, REGION).join('\n');
  t.match(problems, /--http-port 8091 != the Envoy cluster's port 8090/);
  t.match(problems, /--control-plane .*:7070 reaches port 7070 of the control plane, not 7071/);
});

t.test('a region value left from another region', async (t) => {
  const docs = structuredClone(PRISTINE);
  const cm = one(docs, (d) => d.kind === 'ConfigMap' && d.metadata.namespace === 'checkout');
  cm.data.ATP_REGION = 'us-east';
  t.match(
    regionProblems(docs, REGION).join('\n'),
    /ConfigMap atp-region \(checkout\): ATP_REGION us-east != eu-west/,
  );
});

t.test('schema violations and kinds without a validator', async (t) => {
  const { docs, c } = copyWith(INGEST);
  c.ports[0].containerPort = '9464';
  const deployment = one(docs, (d) => d.kind === 'Deployment' && d.metadata.name === 'atp-ingester');
  t.match(schemaProblems(deployment).join('\n'), /containerPort must be integer/);
  const scaled = structuredClone(one(docs, (d) => d.kind === 'ScaledObject'));
  delete scaled.spec.scaleTargetRef;
  t.match(schemaProblems(scaled).join('\n'), /scaleTargetRef/);
  t.match(
    schemaProblems({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }).join(''),
    /no schema validator/,
  );
});

t.test('the renderer refuses what it does not implement and paths that do not exist', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'atp-deploy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const overlay = join(dir, 'deploy', 'overlays', REGION);
  cpSync(join(REPO_ROOT, 'deploy'), join(dir, 'deploy'), { recursive: true });
  cpSync(join(REPO_ROOT, 'mesh-config'), join(dir, 'mesh-config'), { recursive: true });
  const file = join(overlay, 'kustomization.yaml');
  const text = readFileSync(file, 'utf8');

  writeFileSync(file, `${text}\nnamePrefix: x-\n`);
  t.throws(() => renderKustomization(overlay), /kustomization field namePrefix is not supported/);

  writeFileSync(file, text.replace('path: /data/ATP_REGION', 'path: /data/ATP_REGON'));
  t.throws(
    () => renderKustomization(overlay),
    /replace \/data\/ATP_REGON on ConfigMap\/atp\/atp-region: OPERATION_PATH_UNRESOLVABLE/,
  );
});
