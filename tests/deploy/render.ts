/**
 * Renders a kustomization of deploy/ into its documents, two ways:
 *
 * - with the real kustomize (`kubectl kustomize`, when kubectl is on the
 *   machine: it is in this machine kind's image), and
 * - with a small renderer that supports exactly what deploy/ uses —
 *   `resources` (files and directories), `components`, and `patches` whose
 *   patch is a JSON 6902 list — applying the patches with fast-json-patch (an
 *   RFC 6902 implementation, the standard kustomize follows). Any other
 *   kustomization field is refused, so nothing kustomize would do is skipped
 *   silently.
 *
 * The deploy test uses kustomize's output when it can and checks that both
 * renderings agree, so the fallback is proven faithful wherever both run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { parse, parseAllDocuments } from 'yaml';

const { applyPatch } = fastJsonPatch;

export type Doc = Record<string, any>;

const KUSTOMIZATION_FILE = 'kustomization.yaml';
const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'patches']);

/** True when `kubectl kustomize` can run here. */
export function kustomizeAvailable(): boolean {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return r.status === 0 && /Kustomize Version/.test(r.stdout);
}

/** `kubectl kustomize <dir>`: the real rendering. */
export function renderWithKustomize(dir: string): Doc[] {
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${r.stderr}`);
  return parseYamlDocs(r.stdout, `kustomize ${dir}`);
}

/** Every document of a multi-document YAML text; a syntax error throws naming the source. */
export function parseYamlDocs(text: string, source: string): Doc[] {
  const docs: Doc[] = [];
  for (const d of parseAllDocuments(text)) {
    if (d.errors.length > 0) throw new Error(`${source}: ${d.errors[0]?.message}`);
    const value = d.toJS() as Doc | null;
    if (value !== null) docs.push(value);
  }
  return docs;
}

interface PatchEntry {
  path?: string;
  patch?: string;
  target: { group?: string; version?: string; kind: string; name?: string; namespace?: string };
}

/** The fallback renderer (see the file comment). */
export function renderKustomization(dir: string): Doc[] {
  const k = parse(readFileSync(join(dir, KUSTOMIZATION_FILE), 'utf8')) as Doc;
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field))
      throw new Error(`${dir}: kustomization field ${field} is not supported`);
  }
  const docs: Doc[] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const path = resolve(dir, r);
    if (statSync(path).isDirectory()) docs.push(...renderKustomization(path));
    else docs.push(...parseYamlDocs(readFileSync(path, 'utf8'), path));
  }
  for (const c of (k.components ?? []) as string[]) {
    applyPatches(docs, resolve(dir, c), componentPatches(resolve(dir, c)));
  }
  applyPatches(docs, dir, (k.patches ?? []) as PatchEntry[]);
  return docs;
}

function componentPatches(dir: string): PatchEntry[] {
  const c = parse(readFileSync(join(dir, KUSTOMIZATION_FILE), 'utf8')) as Doc;
  if (c.kind !== 'Component') throw new Error(`${dir}: not a kustomize Component`);
  for (const field of Object.keys(c)) {
    if (!SUPPORTED_FIELDS.has(field) || field === 'resources' || field === 'components') {
      throw new Error(`${dir}: component field ${field} is not supported`);
    }
  }
  return (c.patches ?? []) as PatchEntry[];
}

function applyPatches(docs: Doc[], dir: string, patches: PatchEntry[]): void {
  for (const p of patches) {
    const text = p.patch ?? readFileSync(resolve(dir, p.path ?? ''), 'utf8');
    const ops = parse(text) as Operation[];
    if (!Array.isArray(ops))
      throw new Error(`${dir}: only JSON 6902 patches (a list of operations) are supported`);
    const targets = docs.filter((d) => matches(d, p.target));
    if (targets.length === 0) throw new Error(`${dir}: no ${p.target.kind} ${p.target.name ?? ''} to patch`);
    for (const t of targets) {
      for (const op of ops) {
        try {
          // validate=true: a path that does not exist is an error, as in kustomize.
          applyPatch(t, [op], true, true);
        } catch (err) {
          throw new Error(`${dir}: ${op.op} ${op.path} on ${keyOf(t)}: ${(err as Error).name}`);
        }
      }
    }
  }
}

function matches(d: Doc, t: PatchEntry['target']): boolean {
  const [group, version] = String(d.apiVersion).includes('/')
    ? String(d.apiVersion).split('/')
    : ['', d.apiVersion];
  return (
    d.kind === t.kind &&
    (t.name === undefined || d.metadata?.name === t.name) &&
    (t.namespace === undefined || d.metadata?.namespace === t.namespace) &&
    (t.group === undefined || group === t.group) &&
    (t.version === undefined || version === t.version)
  );
}

/** `kind/namespace/name` of a document. */
export function keyOf(d: Doc): string {
  return `${d.kind}/${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
}

/** The folder of this file's repository root (tests/deploy/../..). */
export const REPO_ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
