/**
 * The admin API's endpoint table (HTTP/JSON). Changes are POSTs of a JSON
 * command to a named endpoint; reads are GETs. The role each needs is the
 * action's role (auth/roles.ts). Why HTTP/JSON and not gRPC for the admin
 * side: atpctl is for people and scripts; curl-able requests and error
 * bodies that name the field keep it debuggable, and nothing here streams.
 * The watch stream to sidecars is gRPC (watch/).
 */
import type { Action, ChangeAction } from '../auth/roles.js';

export const CHANGE_ENDPOINTS: Readonly<Record<string, ChangeAction>> = {
  '/v1/kill-switches/set': 'killswitch.set',
  '/v1/kill-switches/clear': 'killswitch.clear',
  '/v1/routes/mode': 'route.mode',
  '/v1/routes/rollout': 'route.rollout',
  '/v1/rules/holds/add': 'hold.add',
  '/v1/rules/holds/remove': 'hold.remove',
  '/v1/rules/sellers/set': 'seller.set',
  '/v1/rules/sellers/remove': 'seller.remove',
  '/v1/models/push': 'model.push',
  '/v1/models/promote': 'model.promote',
  '/v1/models/rollback': 'model.rollback',
  '/v1/regions/put': 'region.put',
  '/v1/regions/remove': 'region.remove',
  '/v1/tokens/create': 'token.create',
  '/v1/tokens/revoke': 'token.revoke',
  '/v1/experiments/create': 'experiment.create',
  '/v1/experiments/start': 'experiment.start',
  '/v1/experiments/stop': 'experiment.stop',
  '/v1/experiments/stop-arm': 'experiment.arm-stop',
};

/** GET endpoints; `/v1/models/<version>/<file>` is matched apart. */
export const READ_ENDPOINTS: Readonly<Record<string, Action>> = {
  '/v1/status': 'status.read',
  '/v1/snapshot': 'snapshot.read',
  '/v1/audit': 'audit.read',
  '/v1/audit/export': 'audit.export',
  '/v1/models': 'model.list',
  '/v1/regions': 'region.list',
  '/v1/tokens': 'token.list',
  '/v1/experiments': 'experiment.list',
};

export const MODEL_FILE_PATH_RE =
  /^\/v1\/models\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})\/([A-Za-z0-9][A-Za-z0-9._-]{0,127})$/;
