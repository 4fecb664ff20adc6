// Typed reads of the parts of a Deployment the tests look at. The schema
// check (kube-schema.ts) has already vouched for the shapes; these only name
// them, and fail with a message when something the tests need is missing.
import type { KubeObject } from './kustomize.ts';

interface HttpGet {
  path: string;
  port: number | string;
}

interface Probe {
  httpGet?: HttpGet;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string } };
  }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
}

export interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
  enableServiceLinks?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: {
    name: string;
    configMap?: { name: string; items?: { key: string; path: string }[] };
  }[];
}

/** A Deployment's pod template: its labels and spec. */
export function pod(deployment: KubeObject): { labels: Record<string, string>; spec: PodSpec } {
  const template = (
    deployment.spec as { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } }
  ).template;
  return { labels: template.metadata.labels, spec: template.spec };
}

export function container(deployment: KubeObject, name: string): Container {
  const c = pod(deployment).spec.containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`${deployment.metadata.name} has no container ${name}`);
  return c;
}

/** A port as a number: a name is looked up in the container's ports, as Kubernetes does. */
export function portNumber(c: Container, port: number | string): number {
  if (typeof port === 'number') return port;
  const found = c.ports?.find((p) => p.name === port);
  if (found === undefined) throw new Error(`container ${c.name} has no port named ${port}`);
  return found.containerPort;
}

/** How long the preStop hook pauses: `exec: [sleep, N]` or the `sleep` action. */
export function preStopSeconds(c: Container): number {
  const preStop = c.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  if (command.length === 2 && command[0] === 'sleep' && /^\d+$/.test(command[1])) {
    return Number(command[1]);
  }
  throw new Error(`container ${c.name}: no preStop pause read here: ${JSON.stringify(preStop)}`);
}

/** A Secret's values, from stringData and base64 data alike. */
export function secretData(secret: KubeObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>)) {
    out[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  return { ...out, ...((secret.stringData ?? {}) as Record<string, string>) };
}
