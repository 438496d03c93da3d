/**
 * The body of `experiment.create` (POST /v1/experiments/create) into a new
 * experiment at revision 1: a draft, or running at once with `start: true`.
 * The salt defaults to the id (two experiments never share an id, so never a
 * salt by default: their assignments are independent). Arms start active.
 */
import { type Experiment, parseExperiment } from '@mercato/proto/v1/experiment';
import { ContractError, type Obj, reqArray } from '@mercato/proto/v1/validate';

/** Fields the operator may send; anything else is refused by name. */
const FIELDS = ['id', 'salt', 'routes', 'regions', 'arms', 'guardrail', 'start', 'reason'] as const;
const ARM_FIELDS = ['name', 'kind', 'weight_bp', 'model_version', 'thresholds'] as const;

export function parseExperimentDraft(o: Obj): Experiment {
  for (const k of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(k)) throw new ContractError(k, 'unknown field');
  }
  if (o.start !== undefined && typeof o.start !== 'boolean')
    throw new ContractError('start', 'expected true or false');
  const arms = reqArray(o, 'arms', '', 2, 64).map((a, i) => {
    if (a !== null && typeof a === 'object' && !Array.isArray(a)) {
      for (const k of Object.keys(a)) {
        if (!(ARM_FIELDS as readonly string[]).includes(k))
          throw new ContractError(`arms[${i}].${k}`, 'unknown field');
      }
      return { ...(a as Obj), state: 'active' };
    }
    return a;
  });
  return parseExperiment({
    ...o,
    salt: o.salt ?? o.id,
    arms,
    revision: 1,
    state: o.start === true ? 'running' : 'draft',
  });
}
