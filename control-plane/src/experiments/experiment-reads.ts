/**
 * GET /v1/experiments: every experiment (current revision), or with
 * `?id=` one experiment and its revision history (who changed it, when,
 * why: the guardrail's stops carry the statistic in their reason).
 */
import { AtpError } from '@mercato/platform/errors';
import { experimentToJson } from '@mercato/proto/v1/experiment';
import { ERR } from '../errors.js';
import type { ControlStore } from '../store/control-store.js';

export const EXPERIMENT_HISTORY_LIMIT = 50;

export async function readExperiments(
  store: ControlStore,
  id: string | null,
): Promise<Record<string, unknown>> {
  if (id === null) {
    const all = await store.read((tx) => tx.experiments.list());
    return { experiments: all.map(experimentToJson) };
  }
  const history = await store.read((tx) => tx.experiments.history(id, EXPERIMENT_HISTORY_LIMIT));
  const current = history[0];
  if (current === undefined) throw new AtpError(ERR.NOT_FOUND, `no experiment ${id}`, 'id');
  return {
    experiments: [experimentToJson(current.experiment)],
    history: history.map((h) => ({
      revision: h.experiment.revision,
      state: h.experiment.state,
      arms: h.experiment.arms.map((a) => ({ name: a.name, state: a.state })),
      changed_by: h.changedBy,
      changed_at_ms: h.changedAtMs,
      reason: h.reason,
    })),
  };
}
