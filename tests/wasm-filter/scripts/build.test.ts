import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import {
  ASCONFIG_PATH,
  ascFlags,
  OUT_PATH,
  REPO_ROOT,
  readBuildConfig,
} from '../../../wasm-filter/scripts/build.js';

/** A minimal valid asconfig.json for a folder other than the repository root. */
function asconfig(releaseBinary: string, overrides: Record<string, unknown> = {}) {
  return {
    entries: ['assembly/index.ts'],
    targets: {
      release: { binaryFile: releaseBinary, optimizeLevel: 3 },
      debug: { binaryFile: 'build/debug.wasm', debug: true },
    },
    options: { use: ['abort=abort_proc_exit'] },
    ...overrides,
  };
}

t.test('the filter build reads the top-level asconfig.json: entry, release and debug targets', async (t) => {
  // The repository's asconfig.json names the filter's entry and keeps the release output where it always was.
  const config = await readBuildConfig(ASCONFIG_PATH);
  t.equal(config.entry, join(REPO_ROOT, 'wasm-filter', 'assembly', 'index.ts'));
  t.equal(config.sourceDir, join(REPO_ROOT, 'wasm-filter', 'assembly'));
  t.equal(config.targets.release.outPath, OUT_PATH);
  t.equal(config.targets.debug.outPath, join(REPO_ROOT, 'wasm-filter', 'build', 'atp-filter.debug.wasm'));

  // Release is optimised for speed, debug keeps names; both abort through proc_exit (a trap in Envoy).
  const release = ascFlags({ ...config.options, ...config.targets.release.options });
  t.match(release.join(' '), /--optimizeLevel 3/);
  t.match(release.join(' '), /--use abort=abort_proc_exit/);
  t.notOk(release.includes('--debug'), 'release has no debug information');
  t.notOk(release.includes('--binaryFile'), 'output files are left to each build');
  const debug = ascFlags({ ...config.options, ...config.targets.debug.options });
  t.ok(debug.includes('--debug'));
  t.notOk(debug.includes('--textFile'));
});

t.test('a build configuration the filter cannot be built from is refused, naming the field', async (t) => {
  // A scratch folder standing in for the repository root.
  const dir = await mkdtemp(join(tmpdir(), 'asconfig-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'asconfig.json');
  const refused = async (config: unknown, field: string) => {
    await writeFile(path, JSON.stringify(config));
    await t.rejects(readBuildConfig(path), { code: 'ATP_ERR_INVALID_BUILD_CONFIG', field }, field);
  };

  // The release output must stay the path mesh-config pins and the tests load.
  await refused(asconfig('build/elsewhere.wasm'), 'targets.release.binaryFile');
  // Exactly one entry; both targets, each with its output; options of asc's types only.
  await refused(asconfig(OUT_PATH, { entries: [] }), 'entries');
  await refused(asconfig(OUT_PATH, { targets: { release: { binaryFile: OUT_PATH } } }), 'targets.debug');
  await refused(asconfig(OUT_PATH, { options: { use: [1] } }), 'options.use');

  // Not JSON at all.
  await writeFile(path, '{ entries: ');
  await t.rejects(readBuildConfig(path), { code: 'ATP_ERR_INVALID_BUILD_CONFIG' });
});
