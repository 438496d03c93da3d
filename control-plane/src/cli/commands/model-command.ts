/**
 * `atpctl model ...`: bundles from a folder to the sidecars. push (admin:
 * signed bytes, verified by the control plane, served only once promoted),
 * promote (everywhere, or staged in one region at a percentage), rollback,
 * list; and the local steps sign and keygen (no server, no token).
 */
import { AtpError } from '@mercato/platform/errors';
import type { Command } from '@mercato/platform/flags';
import { ERR } from '../../errors.js';
import { type AtpctlIo, atpctlAction, type Obj, postChange } from '../atpctl-action.js';
import { intArg, reasonFlag } from '../atpctl-flags.js';
import { generateKeyFiles, readLocalBundle, signBundle } from '../bundle-files.js';
import { isoTime, table } from '../output.js';

export function modelCommand(program: Command, io: AtpctlIo): void {
  const model = program
    .command('model')
    .description('model bundles: push, promote (staged per region), rollback, sign');
  pushCommand(model, io);
  promoteCommand(model, io);
  rollbackCommand(model, io);
  listCommand(model, io);
  signCommand(model, io);
  keygenCommand(model, io);
}

function pushCommand(model: Command, io: AtpctlIo): void {
  const cmd = model
    .command('push <bundle-dir>')
    .description(
      'upload a signed bundle (admin); the control plane verifies sha256 and signature, nothing is served until promoted',
    )
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl model sign --key ~/.atp/bundle-signing.key.pem models/gbdt-v3\n  $ atpctl model push models/gbdt-v3 --reason "weekly retrain"',
    );
  atpctlAction(cmd, io, async ({ client }, dir: string, opts: { reason?: string }) => {
    const why = reasonFlag(opts);
    const b = readLocalBundle(dir);
    if (b.signature === null) {
      throw new AtpError(ERR.MODEL_UNSIGNED, `${dir} has no manifest.sig`, 'signature');
    }
    const r = await client().post<Obj>('/v1/models/push', {
      manifest_b64: b.manifest.toString('base64'),
      signature_b64: b.signature.toString('utf8').trim(),
      model_b64: b.model.toString('base64'),
      reason: why,
    });
    return {
      json: r,
      text: `model ${b.version} pushed (signed by ${String(r.key_id ?? 'a trusted key')}); promote it with: atpctl model promote ${b.version} --reason ...`,
    };
  });
}

function promoteCommand(model: Command, io: AtpctlIo): void {
  const cmd = model
    .command('promote <version>')
    .description('make a pushed model active everywhere, or stage it in one region at a percentage')
    .option('--region <region>', 'stage in this region only (with --pct)')
    .option('--pct <pct>', 'share of requests in --region (0..100; 0 removes the region)')
    .option('--reason <text>', 'why (required)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl model promote gbdt-v3 --region eu-west --pct 10 --reason "canary"\n  $ atpctl model promote gbdt-v3 --region eu-west --pct 100 --reason "eu-west all in"\n  $ atpctl model promote gbdt-v3 --reason "everywhere"',
    );
  atpctlAction(
    cmd,
    io,
    async ({ client }, version: string, opts: { region?: string; pct?: string; reason?: string }) => {
      const { region, pct } = opts;
      if ((region === undefined) !== (pct === undefined)) {
        throw new AtpError(
          ERR.INVALID_FLAG,
          '--region and --pct go together (stage in one region); omit both to promote everywhere',
          region === undefined ? '--region' : '--pct',
        );
      }
      const body: Obj = { version, reason: reasonFlag(opts) };
      if (region !== undefined && pct !== undefined) {
        body.region = region;
        body.pct = intArg(pct, '--pct', 0, 100);
      }
      return postChange(client(), '/v1/models/promote', body);
    },
  );
}

function rollbackCommand(model: Command, io: AtpctlIo): void {
  const cmd = model
    .command('rollback')
    .description('one command back: drops a staged rollout, else makes the previous model active again')
    .option('--reason <text>', 'why (required)')
    .addHelpText('after', '\nExamples:\n  $ atpctl model rollback --reason "INC-4712 oversell on gbdt-v3"');
  atpctlAction(cmd, io, async ({ client }, opts: { reason?: string }) =>
    postChange(client(), '/v1/models/rollback', { reason: reasonFlag(opts) }),
  );
}

function listCommand(model: Command, io: AtpctlIo): void {
  const cmd = model
    .command('list')
    .description('pushed models and the promotion history')
    .addHelpText('after', '\nExamples:\n  $ atpctl model list');
  atpctlAction(cmd, io, async ({ client }) => {
    const r = await client().get<{ models: Obj[] }>('/v1/models');
    const rows = r.models.map((m) => [
      String(m.version),
      String(m.state),
      String(m.model_sha256).slice(0, 12),
      String(m.key_id),
      String(m.pushed_by),
      isoTime(m.pushed_at_ms),
    ]);
    return {
      json: r,
      text:
        rows.length === 0
          ? 'no models pushed'
          : table(rows, ['version', 'state', 'sha256', 'signed by', 'pushed by', 'pushed at']),
    };
  });
}

function signCommand(model: Command, io: AtpctlIo): void {
  const cmd = model
    .command('sign <bundle-dir>')
    .description('write manifest.sig: ed25519 over the exact bytes of manifest.json (local, no server)')
    .requiredOption('--key <private.pem>', 'ed25519 private key (PKCS#8 PEM)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ atpctl model sign --key ~/.atp/bundle-signing.key.pem models/gbdt-v3',
    );
  atpctlAction(cmd, io, async (_ctx, dir: string, opts: { key: string }) => {
    const r = signBundle(dir, opts.key);
    return {
      json: { signature: r.signaturePath, key_id: r.keyId },
      text: `signed ${dir} with ${r.keyId} -> ${r.signaturePath}`,
    };
  });
}

function keygenCommand(model: Command, io: AtpctlIo): void {
  const cmd = model
    .command('keygen')
    .description(
      'generate an ed25519 signing key pair (local); give the public half to control planes and sidecars (--trusted-key)',
    )
    .requiredOption('--out <dir>', 'folder for bundle-signing.key.pem (0600) and bundle-signing.pub.pem')
    .addHelpText('after', '\nExamples:\n  $ atpctl model keygen --out ~/.atp');
  atpctlAction(cmd, io, async (_ctx, opts: { out: string }) => {
    const r = generateKeyFiles(opts.out);
    return {
      json: { key_id: r.keyId, private_key: r.privatePath, public_key: r.publicPath },
      text: `key ${r.keyId}\n  private ${r.privatePath} (keep it secret; never commit it)\n  public  ${r.publicPath}`,
    };
  });
}
