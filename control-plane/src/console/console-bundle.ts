/**
 * The console's bundle: control-plane/console-ui/src (preact + uPlot,
 * TypeScript/TSX) bundled by esbuild into one ES module and one stylesheet,
 * nothing fetched from a CDN. `npm run build:console` writes it to
 * control-plane/console-ui/dist (typechecked first); a server that finds no
 * dist builds it in memory on the first request and keeps it.
 * Run directly (`node --import tsx control-plane/src/console/console-bundle.ts`)
 * it writes dist.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ConsoleBundle {
  js: string;
  css: string;
}

const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console-ui');
export const CONSOLE_DIST_DIR = join(UI_DIR, 'dist');
const ENTRY = join(UI_DIR, 'src', 'main.tsx');
const UPLOT_CSS = 'uplot/dist/uPlot.min.css';
const OWN_CSS = join(UI_DIR, 'src', 'console.css');

let cached: Promise<ConsoleBundle> | null = null;

/** The bundle: dist when built, else built once in memory. */
export function consoleBundle(): Promise<ConsoleBundle> {
  cached ??= loadOrBuild().catch((err) => {
    cached = null;
    throw err;
  });
  return cached;
}

async function loadOrBuild(): Promise<ConsoleBundle> {
  const js = join(CONSOLE_DIST_DIR, 'app.js');
  const css = join(CONSOLE_DIST_DIR, 'app.css');
  if (existsSync(js) && existsSync(css) && statSync(js).mtimeMs >= newestSourceMs())
    return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
  return buildConsoleBundle();
}

/** The newest change among the UI sources: a dist older than that is stale and rebuilt. */
function newestSourceMs(): number {
  const src = join(UI_DIR, 'src');
  return Math.max(0, ...readdirSync(src).map((f) => statSync(join(src, f)).mtimeMs));
}

/** Bundles the UI with esbuild (minified, ES2022, preact's automatic JSX runtime). */
export async function buildConsoleBundle(): Promise<ConsoleBundle> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = out.outputFiles[0]?.text ?? '';
  const uplotCss = readFileSync(fileURLToPath(import.meta.resolve(UPLOT_CSS)), 'utf8');
  return { js, css: `${uplotCss}\n${readFileSync(OWN_CSS, 'utf8')}` };
}

async function writeDist(): Promise<void> {
  const b = await buildConsoleBundle();
  mkdirSync(CONSOLE_DIST_DIR, { recursive: true });
  writeFileSync(join(CONSOLE_DIST_DIR, 'app.js'), b.js);
  writeFileSync(join(CONSOLE_DIST_DIR, 'app.css'), b.css);
  process.stdout.write(
    `console bundle: ${CONSOLE_DIST_DIR} (app.js ${b.js.length} B, app.css ${b.css.length} B)\n`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeDist().catch((err) => {
    process.stderr.write(`console bundle failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
