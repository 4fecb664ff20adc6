// Checks a Kubernetes object against the API's own schema with
// kubernetes-models: one class per kind, generated from the official OpenAPI
// document, whose validate() runs the JSON-schema check (types, required
// fields, int-or-string, quantities) the API server would. docs/decisions.md
// ("Deployment files (issue 11)") says why this one and what it does not see.

import * as apps from 'kubernetes-models/apps/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as core from 'kubernetes-models/v1';
import type { KubeObject } from './kustomize.ts';

type ModelClass = (new (
  data: unknown,
) => { validate(): void }) & {
  apiVersion?: string;
  kind?: string;
};

/** The API groups deploy/kubernetes uses; another one fails loudly until added here. */
const GROUPS: Record<string, Record<string, unknown>> = {
  v1: core,
  'apps/v1': apps,
  'policy/v1': policy,
};

/**
 * The schema's complaints about `object`, one line each (`/spec/replicas
 * must be integer`); none when it is valid. An apiVersion or kind with no
 * schema is a complaint too, never a silent pass.
 */
export function schemaErrors(object: KubeObject): string[] {
  const group = GROUPS[object.apiVersion];
  const model = group?.[object.kind] as ModelClass | undefined;
  // Parts of objects (Container, PodSpec) are classes too, but not kinds.
  if (typeof model !== 'function' || model.kind !== object.kind) {
    return [`no schema for ${object.apiVersion} ${object.kind} (add its group to kube-schema.ts)`];
  }
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    const details = (error as { errors?: { instancePath: string; message?: string }[] }).errors;
    if (details === undefined) return [(error as Error).message];
    return details.map((d) => `${d.instancePath || '/'} ${d.message ?? 'is invalid'}`);
  }
}
