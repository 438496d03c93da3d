/**
 * Experiments as a lever (operators): create (a draft, or running at once
 * with `start: true`), start, stop (the whole experiment) and arm-stop (one
 * treatment arm: what the guardrail monitor calls, its reason naming the
 * statistic). Each accepted change writes the next revision of the
 * experiment; the change service publishes the snapshot sidecars and
 * filters receive (running experiments only) and audits it.
 */
import { AtpError } from '@mercato/platform/errors';
import { controlArm, type Experiment } from '@mercato/proto/v1/experiment';
import { type Obj, reqString } from '@mercato/proto/v1/validate';
import { controlErrorOf, ERR } from '../errors.js';
import { parseExperimentDraft } from '../experiments/experiment-draft.js';
import { checkNoOverlap } from '../experiments/experiment-overlap.js';
import type { StoreTx } from '../store/control-store.js';
import { type ChangeCommand, reqReason } from './change-command.js';
import { requireKnownRegion } from './region-commands.js';

export interface ExperimentCreateCommand {
  experiment: Experiment;
  reason: string;
}

export interface ExperimentStateCommand {
  id: string;
  reason: string;
}

export interface ArmStopCommand {
  id: string;
  arm: string;
  reason: string;
}

/** The experiment named by `id`, or NOT_FOUND naming the field and listing the known ids. */
async function requireExperiment(tx: StoreTx, id: string): Promise<Experiment> {
  const e = await tx.experiments.get(id);
  if (e === undefined) {
    const known = (await tx.experiments.list()).map((x) => x.id);
    throw new AtpError(
      ERR.NOT_FOUND,
      `no experiment ${id} (known: ${known.length === 0 ? 'none' : known.join(', ')})`,
      'id',
    );
  }
  return e;
}

/** Every region known to the registry, every model version pushed. */
async function checkReferences(tx: StoreTx, e: Experiment): Promise<void> {
  for (const [i, r] of e.regions.entries()) await requireKnownRegion(tx, r, `regions[${i}]`);
  for (const [i, a] of e.arms.entries()) {
    if (a.modelVersion !== undefined && (await tx.models.get(a.modelVersion)) === undefined) {
      throw new AtpError(
        ERR.INVALID_ARGUMENT,
        `model ${a.modelVersion} was never pushed (atpctl model push)`,
        `arms[${i}].model_version`,
      );
    }
  }
}

function stateDetail(e: Experiment): Record<string, unknown> {
  return {
    id: e.id,
    revision: e.revision,
    state: e.state,
    arms: e.arms.map((a) => ({ name: a.name, kind: a.kind, weight_bp: a.weightBp, state: a.state })),
  };
}

export const experimentCreate: ChangeCommand<ExperimentCreateCommand> = {
  action: 'experiment.create',
  parse: (o) => ({ experiment: parseExperimentDraft(o), reason: reqReason(o) }),
  target: (c) => c.experiment.id,
  async apply(tx, c, ctx) {
    const e = c.experiment;
    if ((await tx.experiments.get(e.id)) !== undefined) {
      throw new AtpError(ERR.CONFLICT, `experiment ${e.id} exists: ids are never reused`, 'id');
    }
    await checkReferences(tx, e);
    if (e.state === 'running') checkNoOverlap(e, await tx.experiments.list());
    await tx.experiments.put(e, ctx.principal.name, ctx.nowMs, c.reason);
    return { detail: stateDetail(e) };
  },
};

const parseId = (o: Obj): ExperimentStateCommand => ({
  id: reqString(o, 'id', '', 64),
  reason: reqReason(o),
});

export const experimentStart: ChangeCommand<ExperimentStateCommand> = {
  action: 'experiment.start',
  parse: parseId,
  target: (c) => c.id,
  async apply(tx, c, ctx) {
    const e = await requireExperiment(tx, c.id);
    if (e.state !== 'draft') {
      throw new AtpError(ERR.CONFLICT, `experiment ${e.id} is ${e.state}: only a draft starts`, 'id');
    }
    const next: Experiment = { ...e, state: 'running', revision: e.revision + 1 };
    await checkReferences(tx, next);
    checkNoOverlap(next, await tx.experiments.list());
    await tx.experiments.put(next, ctx.principal.name, ctx.nowMs, c.reason);
    return { detail: stateDetail(next) };
  },
};

export const experimentStop: ChangeCommand<ExperimentStateCommand> = {
  action: 'experiment.stop',
  parse: parseId,
  target: (c) => c.id,
  async apply(tx, c, ctx) {
    const e = await requireExperiment(tx, c.id);
    if (e.state === 'stopped') {
      throw new AtpError(ERR.CONFLICT, `experiment ${e.id} is already stopped (${e.stopReason ?? ''})`, 'id');
    }
    const next: Experiment = { ...e, state: 'stopped', stopReason: c.reason, revision: e.revision + 1 };
    await tx.experiments.put(next, ctx.principal.name, ctx.nowMs, c.reason);
    return { detail: { ...stateDetail(next), previous_state: e.state } };
  },
};

export const experimentArmStop: ChangeCommand<ArmStopCommand> = {
  action: 'experiment.arm-stop',
  parse: (o) => ({ id: reqString(o, 'id', '', 64), arm: reqString(o, 'arm', '', 64), reason: reqReason(o) }),
  target: (c) => `${c.id}:${c.arm}`,
  async apply(tx, c, ctx) {
    const e = await requireExperiment(tx, c.id);
    const arm = e.arms.find((a) => a.name === c.arm);
    if (arm === undefined) {
      throw new AtpError(
        ERR.NOT_FOUND,
        `experiment ${e.id} has no arm ${c.arm} (arms: ${e.arms.map((a) => a.name).join(', ')})`,
        'arm',
      );
    }
    if (arm === controlArm(e)) {
      throw new AtpError(ERR.CONFLICT, `${c.arm} is the control arm: stop the experiment instead`, 'arm');
    }
    if (e.state !== 'running') throw new AtpError(ERR.CONFLICT, `experiment ${e.id} is ${e.state}`, 'id');
    if (arm.state === 'stopped') {
      throw new AtpError(ERR.CONFLICT, `arm ${c.arm} is already stopped (${arm.stopReason ?? ''})`, 'arm');
    }
    const next: Experiment = {
      ...e,
      revision: e.revision + 1,
      arms: e.arms.map((a) => (a === arm ? { ...a, state: 'stopped', stopReason: c.reason } : a)),
    };
    try {
      await tx.experiments.put(next, ctx.principal.name, ctx.nowMs, c.reason);
    } catch (err) {
      throw controlErrorOf(err);
    }
    return { detail: { ...stateDetail(next), stopped_arm: c.arm } };
  },
};
