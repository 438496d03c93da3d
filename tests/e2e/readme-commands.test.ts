/**
 * README stays true: every `npm run <script>` it names is a script of the
 * root package, every `npx <bin>` is an installed bin, and every command it
 * prints ending in `--help` runs as printed (through a shell, from the repo
 * root) and exits 0 with a usage text.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const ROOT = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

/** Every inline code span of the README that is a command. */
const commands = [...readme.matchAll(/`([^`\n]+)`/g)]
  .map((m) => (m[1] ?? '').trim())
  .filter((c) => /^(npm|npx) /.test(c));

t.test('the README names commands', async (t) => {
  t.ok(commands.length >= 10, `found ${commands.length} commands`);
});

t.test('every npm script the README names exists', async (t) => {
  const named = new Set<string>();
  for (const c of commands) {
    const m = /^npm run ([\w:-]+)/.exec(c);
    if (m?.[1] !== undefined) named.add(m[1]);
  }
  // Bare script names in the benchmarks row (`bench:train`, ...).
  for (const m of readme.matchAll(/`(bench:[\w-]+)`/g)) if (m[1] !== undefined) named.add(m[1]);
  t.ok(named.size >= 8);
  for (const s of named) t.ok(scripts[s] !== undefined, `npm run ${s} is a script`);
});

t.test('every npx bin the README names is installed', async (t) => {
  const bins = new Set(
    commands.flatMap((c) => /^npx ([\w-]+)/.exec(c)?.[1] ?? []).filter((b) => b !== 'tap'),
  );
  t.ok(bins.size >= 2);
  for (const b of bins) t.ok(existsSync(join(ROOT, 'node_modules', '.bin', b)), `npx ${b} is installed`);
});

t.test('every --help command runs as printed', async (t) => {
  const helps = [...new Set(commands.filter((c) => c.endsWith('--help')))];
  t.ok(helps.length >= 4, `help commands: ${helps.join(' | ')}`);
  for (const c of helps) {
    const { stdout } = await run('/bin/sh', ['-c', c], { cwd: ROOT, timeout: 120_000 });
    t.match(stdout, /Usage:/, `${c} prints its usage`);
  }
});
