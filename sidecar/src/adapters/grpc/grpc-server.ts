/**
 * gRPC edge: mercato.atp.v1.AvailabilityService (Check, CheckBatch), the
 * standard grpc.health.v1 Health service and server reflection, on
 * @grpc/grpc-js. Requests go through the same parser as the HTTP edge, so a
 * bad field gets INVALID_ARGUMENT with the same message naming it. The call
 * deadline becomes the engine's deadline; without one DEFAULT_DEADLINE_MS applies.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { AtpError } from '@mercato/platform/errors';
import { bindGrpc, shutdownGrpc } from '@mercato/platform/servers';
import { checkResponseToJson } from '@mercato/proto/v1/decision';
import { ContractError } from '@mercato/proto/v1/validate';
import type { CheckContext, DecisionService } from '../../decision/ports.js';
import { asAtpError } from '../../errors.js';
import { DEFAULT_DEADLINE_MS, MAX_REQUEST_BODY_BYTES } from '../http/http-server.js';
import { parseRegionalRequest } from '../request-region.js';

export const ATP_PROTO_PATH = fileURLToPath(new URL('../../../../proto/v1/atp.proto', import.meta.url));
export const HEALTH_PROTO_PATH = fileURLToPath(new URL('./health.proto', import.meta.url));
export const ATP_SERVICE_NAME = 'mercato.atp.v1.AvailabilityService';
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};
/** Same bound as the HTTP body: a browse page of 100 SKUs is a few KiB. */
export const MAX_RECEIVE_MESSAGE_BYTES = MAX_REQUEST_BODY_BYTES;

export function loadAtpPackage(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(ATP_PROTO_PATH, PROTO_LOADER_OPTIONS));
}

export function loadHealthPackage(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(HEALTH_PROTO_PATH, PROTO_LOADER_OPTIONS));
}

export function availabilityServiceDefinition(): grpc.ServiceDefinition {
  const pkg = loadAtpPackage() as unknown as {
    mercato: { atp: { v1: { AvailabilityService: grpc.ServiceClientConstructor } } };
  };
  return pkg.mercato.atp.v1.AvailabilityService.service;
}

/** What a request that is no protobuf message decodes to: the handler answers INVALID_ARGUMENT. */
const UNDECODABLE = Symbol('undecodable request');

/**
 * The service definition with request decoding that cannot throw: grpc-js
 * answers a throwing deserializer with INTERNAL, but bytes that are no
 * message of the method's type are the caller's fault (issue 16 finding 7).
 */
function tolerantDefinition(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def)) {
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return m.requestDeserialize(bytes);
        } catch (err) {
          return { [UNDECODABLE]: (err as Error).message };
        }
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface GrpcEdgeOptions {
  service: DecisionService;
  host?: string;
  port?: number;
  region: string;
  /** Regions whose requests are accepted too (`--failover-for`; the service answers them from escrow). */
  failoverFor?: ReadonlySet<string>;
  /** Readiness drives the health status of the ATP service and of "" (the whole server). */
  isReady: () => boolean;
  onError?: (e: AtpError) => void;
}

export class GrpcEdge {
  private server: grpc.Server | null = null;
  port = 0;

  constructor(private readonly opts: GrpcEdgeOptions) {}

  async start(): Promise<number> {
    const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES });
    server.addService(tolerantDefinition(availabilityServiceDefinition()), {
      Check: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        this.handle(call, false, cb),
      CheckBatch: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        this.handle(call, true, cb),
    });
    const health = loadHealthPackage() as unknown as {
      grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
    };
    server.addService(health.grpc.health.v1.Health.service, {
      Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        cb(null, { status: this.status(call.request.service) });
      },
      Watch: (call: grpc.ServerWritableStream<{ service: string }, unknown>) => {
        // One status, then the stream ends (clients re-watch); an open stream would hold shutdown.
        call.write({ status: this.status(call.request.service) });
        call.end();
      },
    });
    const defs = protoLoader.loadSync([ATP_PROTO_PATH, HEALTH_PROTO_PATH], PROTO_LOADER_OPTIONS);
    new ReflectionService(defs).addToServer(server);
    this.port = await bindGrpc(
      server,
      grpc.ServerCredentials.createInsecure(),
      this.opts.port,
      this.opts.host,
    );
    this.server = server;
    return this.port;
  }

  /** Idempotent; calls in flight get the platform's stop grace, then the server is shut down by force. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await shutdownGrpc(server);
  }

  private status(service: string): ServingStatus {
    if (service !== '' && service !== ATP_SERVICE_NAME) return 'SERVICE_UNKNOWN';
    return this.opts.isReady() ? 'SERVING' : 'NOT_SERVING';
  }

  private handle(
    call: grpc.ServerUnaryCall<unknown, unknown>,
    batch: boolean,
    cb: grpc.sendUnaryData<unknown>,
  ): void {
    const ctx: CheckContext = { deadlineAt: deadlineAt(call.getDeadline()) };
    Promise.resolve()
      .then(async () => {
        const msg = call.request as Record<string | symbol, unknown>;
        if (msg[UNDECODABLE] !== undefined)
          throw new ContractError(
            '$',
            `the request is not a protobuf ${ATP_SERVICE_NAME} message (${String(msg[UNDECODABLE])})`,
          );
        const normalized = proto3Absent(msg);
        const request = parseRegionalRequest(normalized, this.opts.region, this.opts.failoverFor);
        if (batch && request.channel !== 'browse')
          throw new ContractError('channel', 'CheckBatch serves "browse"');
        return checkResponseToJson(await this.opts.service.check(request, ctx));
      })
      .then(
        (res) => cb(null, res),
        (err) => {
          const e = asAtpError(err);
          this.opts.onError?.(e);
          const md = new grpc.Metadata();
          md.set('atp-error-code', e.code);
          if (e.field !== undefined) md.set('atp-error-field', e.field);
          cb({ code: e.spec.grpcStatus, details: e.message, metadata: md });
        },
      );
  }
}

/** A grpc-js deadline (Date or ms since epoch; Infinity when none) on the performance.now() clock. */
function deadlineAt(deadline: grpc.Deadline): number {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  const remaining = Number.isFinite(ms) ? ms - Date.now() : DEFAULT_DEADLINE_MS;
  return performance.now() + Math.min(remaining, DEFAULT_DEADLINE_MS * 60);
}

/**
 * proto3 has no "absent" for scalars: an empty region means "use the
 * sidecar's own", an unset experiment message arrives as null, and an empty
 * arm means the filter named none. The shared parser reads absent fields.
 */
function proto3Absent(msg: Record<string | symbol, unknown>): Record<string | symbol, unknown> {
  const exp = msg.experiment as Record<string, unknown> | null | undefined;
  if (msg.region !== '' && (exp === null || exp === undefined || exp.arm !== '')) return msg;
  const out: Record<string | symbol, unknown> = { ...msg };
  if (msg.region === '') out.region = undefined;
  if (exp !== null && exp !== undefined && exp.arm === '') {
    const { arm: _none, ...tag } = exp;
    out.experiment = tag;
  }
  return out;
}
