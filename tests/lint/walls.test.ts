/**
 * The walls of the house are checked, not assumed: the repository's own
 * dependency-cruiser configuration (the one `npm run lint` runs) is pointed
 * at a small throw-away tree shaped like ours, once with allowed arrows only
 * and once per kind of forbidden one. Each forbidden arrow must fail lint and
 * name its rule.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';

const REPO = join(import.meta.dirname, '../..');
const DEPCRUISE = join(REPO, 'node_modules/.bin/depcruise');
const CONFIG = join(REPO, '.dependency-cruiser.cjs');
const DIRS = ['proto', 'platform', 'features', 'adapters', 'sidecar', 'ingest', 'control-plane', 'training'];

/** A tree with one allowed file per package; `extra` adds or overrides files. */
function lintTree(extra: Record<string, string>): { status: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), 'atp-walls-'));
  try {
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({
        compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
      }),
      'node_modules/ioredis/package.json': JSON.stringify({ name: 'ioredis', main: 'index.js' }),
      'node_modules/ioredis/index.js': 'export default class Redis {}\n',
      'platform/src/errors.ts': 'export const E = 1;\n',
      'proto/v1/decision.ts': "import { E } from '../../platform/src/errors.js';\nexport const D = E;\n",
      'features/src/vector.ts': "import { D } from '../../proto/v1/decision.js';\nexport const V = D;\n",
      'adapters/src/redis/store.ts':
        "import Redis from 'ioredis';\nimport { V } from '../../../features/src/vector.js';\nexport const S = [Redis, V];\n",
      'sidecar/src/decision/engine.ts':
        "import { V } from '../../../features/src/vector.js';\nexport const X = V;\n",
      'sidecar/src/main.ts':
        "import { S } from '../../adapters/src/redis/store.js';\nimport { X } from './decision/engine.js';\nexport const M = [S, X];\n",
      'ingest/src/main.ts': "import { S } from '../../adapters/src/redis/store.js';\nexport const I = S;\n",
      'control-plane/src/main.ts': "import { D } from '../../proto/v1/decision.js';\nexport const C = D;\n",
      'training/src/train.ts': "import { V } from '../../features/src/vector.js';\nexport const T = V;\n",
      ...extra,
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const r = spawnSync(DEPCRUISE, [...DIRS, '--config', CONFIG, '--output-type', 'err'], {
      cwd: root,
      encoding: 'utf8',
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

t.test('a tree with only allowed arrows passes', async (t) => {
  const r = lintTree({});
  t.equal(r.status, 0, r.out);
});

t.test('a component importing another component fails lint', async (t) => {
  const r = lintTree({
    'sidecar/src/main.ts': "import { C } from '../../control-plane/src/main.js';\nexport const M = C;\n",
  });
  t.not(r.status, 0);
  t.match(r.out, /wall-sidecar/);
  t.match(r.out, /sidecar\/src\/main\.ts → control-plane\/src\/main\.ts/);
});

t.test('the floor importing a component fails lint', async (t) => {
  const r = lintTree({
    'features/src/vector.ts':
      "import { D } from '../../proto/v1/decision.js';\nimport { X } from '../../sidecar/src/decision/engine.js';\nexport const V = [D, X];\n",
  });
  t.not(r.status, 0);
  t.match(r.out, /floor-features/);
});

t.test('an import cycle fails lint, even inside one component', async (t) => {
  const r = lintTree({
    'ingest/src/a.ts': "import { B } from './b.js';\nexport const A = () => B;\n",
    'ingest/src/b.ts': "import { A } from './a.js';\nexport const B = () => A;\n",
  });
  t.not(r.status, 0);
  t.match(r.out, /no-circular/);
});

t.test('the decision core importing a client library fails lint', async (t) => {
  const r = lintTree({
    'sidecar/src/decision/engine.ts': "import Redis from 'ioredis';\nexport const X = Redis;\n",
  });
  t.not(r.status, 0);
  t.match(r.out, /pure-core/);
});
