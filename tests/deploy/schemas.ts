/**
 * Schema validation of rendered manifests with the validators that ship in
 * npm packages: kubernetes-models (the Kubernetes OpenAPI schemas),
 * @kubernetes-models/keda (KEDA's CRD schemas) and @kubernetes-models/istio
 * (Istio's CRD schemas). No schema is written here. A kind without a
 * validator is itself a problem, so a new kind cannot slip in unchecked.
 *
 * Like `kubectl apply` without strict field validation, these schemas do
 * not reject unknown fields; the policy checks (checks.ts) require the fields
 * that matter (probes, resources, securityContext) to be present.
 */
import { WasmPlugin } from '@kubernetes-models/istio/extensions.istio.io/v1alpha1';
import { EnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3';
import { DestinationRule, VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1beta1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { CronJob } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Service } from 'kubernetes-models/v1';
import type { Doc } from './render.js';

type Validatable = new (data: any) => { validate(): void };

const MODELS: Record<string, Validatable> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/CronJob': CronJob,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'extensions.istio.io/v1alpha1/WasmPlugin': WasmPlugin,
  'networking.istio.io/v1alpha3/EnvoyFilter': EnvoyFilter,
  'networking.istio.io/v1beta1/DestinationRule': DestinationRule,
  'networking.istio.io/v1beta1/VirtualService': VirtualService,
  'security.istio.io/v1beta1/PeerAuthentication': PeerAuthentication,
};

/** Problems of one document against its package schema ([] = valid). */
export function schemaProblems(doc: Doc): string[] {
  const where = `${doc.kind} ${doc.metadata?.name ?? '?'}`;
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (Model === undefined) return [`${where}: no schema validator for ${doc.apiVersion} ${doc.kind}`];
  try {
    new Model(structuredClone(doc)).validate();
    return [];
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
}
