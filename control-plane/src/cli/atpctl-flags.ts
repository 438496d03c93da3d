/**
 * atpctl's flag parsers on top of the platform toolkit: each refuses with
 * an ATP_ERR_INVALID_FLAG AtpError naming the flag or argument as typed
 * (`<pct>: expected an integer 0..100, got "150"`), which atpctl exits 2
 * for. Local files a flag points at (--token-file) that cannot be read are
 * a CONFIG_INVALID, also exit 2.
 */
import { readFileSync } from 'node:fs';
import { AtpError } from '@mercato/platform/errors';
import { flagError, intFlag } from '@mercato/platform/flags';
import { KILL_SCOPES } from '@mercato/proto/v1/control-snapshot';
import { MODES, type Mode } from '@mercato/proto/v1/decision';
import { ERR, withHint } from '../errors.js';

/** A whole number in [min, max]; `dflt` when absent. */
export function intFlagWithin(
  raw: string | undefined,
  flag: string,
  min: number,
  max: number,
  dflt: number,
): number {
  return intFlag(raw, flag, { min, max }, dflt);
}

/** A whole-number argument commander always supplies (`<pct>`). */
export function intArg(raw: string, flag: string, min: number, max: number): number {
  const v = intFlag(raw, flag, { min, max });
  if (v === undefined) throw flagError(flag, 'required');
  return v;
}

/** Every change says why: --reason is required and goes to the audit log. */
export function reasonFlag(opts: { reason?: string }): string {
  if (opts.reason === undefined || opts.reason.trim() === '') {
    throw new AtpError(
      withHint(ERR.INVALID_FLAG, 'add --reason "<ticket or why>"'),
      '--reason is required: say why (it is recorded in the audit log)',
      '--reason',
    );
  }
  return opts.reason;
}

/** --scope global | region:<r> | route:</prefix> | sku:<s>. */
export function scopeFlag(raw: string): { scope: string; target?: string } {
  if (raw === 'global') return { scope: 'global' };
  const i = raw.indexOf(':');
  const scope = i < 0 ? raw : raw.slice(0, i);
  const target = i < 0 ? '' : raw.slice(i + 1);
  if (!(KILL_SCOPES as readonly string[]).includes(scope) || scope === 'global' || target === '') {
    throw flagError(
      '--scope',
      `expected global, region:<region>, route:</prefix> or sku:<sku>, got "${raw}"`,
    );
  }
  return { scope, target };
}

export function modeArg(raw: string): Mode {
  if (!(MODES as readonly string[]).includes(raw)) {
    throw flagError('<mode>', `expected ${MODES.join(' | ')}, got "${raw}"`);
  }
  return raw as Mode;
}

/** --token, else the file of --token-file / ATP_CONTROL_TOKEN_FILE, else ATP_CONTROL_TOKEN; null: none. */
export function resolveToken(
  g: { token?: string; tokenFile?: string },
  env: Record<string, string | undefined>,
): string | null {
  if (g.token !== undefined && g.token !== '') return g.token;
  const file = g.tokenFile ?? env.ATP_CONTROL_TOKEN_FILE;
  if (file !== undefined && file !== '') {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new AtpError(
        withHint(ERR.CONFIG_INVALID, 'pass a readable file holding the token (--token-file)'),
        `--token-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        '--token-file',
        { cause: err },
      );
    }
  }
  const t = env.ATP_CONTROL_TOKEN;
  return t === undefined || t === '' ? null : t;
}

/** --ca, else ATP_CONTROL_CA: the PEM of the CA that signed the control plane's certificate; null: system CAs. */
export function resolveCa(g: { ca?: string }, env: Record<string, string | undefined>): Buffer | null {
  const path = g.ca ?? env.ATP_CONTROL_CA;
  if (path === undefined || path === '') return null;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new AtpError(
      withHint(
        ERR.CONFIG_INVALID,
        'pass a readable PEM file of the CA that signed the control plane certificate (--ca)',
      ),
      `--ca ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      '--ca',
      { cause: err },
    );
  }
}
