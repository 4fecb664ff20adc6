// deploy/kubernetes as Kubernetes and Cutover will read it: every object
// against the API's schema, and the places where the manifests and the
// Cutover config must agree (ports, probe paths, the drain's timing, where
// the config is mounted, the Secret's keys, the Redis address), read from the
// files themselves so that changing one side alone fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDocument } from 'yaml';
import { type Config, parseConfigText } from '../../src/config/index.ts';
import { stages } from './dockerfile.ts';
import { schemaErrors } from './kube-schema.ts';
import {
  find,
  KUBERNETES,
  type KubeObject,
  loadKustomization,
  type Manifest,
  ROOT,
} from './kustomize.ts';
import { type Container, container, pod, portNumber, preStopSeconds, secretData } from './pod.ts';

const PRODUCTION = loadKustomization(KUBERNETES);
const TRY_REDIS = loadKustomization(join(KUBERNETES, 'try-redis'));

const gatewayDeployment = find(TRY_REDIS, 'Deployment', 'cutover');
const gateway = container(gatewayDeployment, 'cutover');

/** What the gateway container's environment holds, Secret references resolved. */
function podEnv(c: Container, manifests: readonly Manifest[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const value = secretData(find(manifests, 'Secret', ref.name))[ref.key];
      assert.ok(value !== undefined, `env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
      env[e.name] = value;
    } else if (e.value !== undefined) env[e.name] = e.value;
    else assert.fail(`env ${e.name}: only value and secretKeyRef are followed here`);
  }
  return env;
}

/**
 * The config file the container is started with, followed from its
 * `--config` argument through the volume mount to the ConfigMap's key.
 */
function mountedConfig(): string {
  const args = gateway.args ?? [];
  const at = args.indexOf('--config');
  assert.ok(at >= 0, `the container's args name no --config: ${JSON.stringify(args)}`);
  const path = args[at + 1];
  const mount = (gateway.volumeMounts ?? []).find((m) => path.startsWith(`${m.mountPath}/`));
  assert.ok(mount, `no volume is mounted where --config ${path} points`);
  const volume = pod(gatewayDeployment).spec.volumes?.find((v) => v.name === mount.name);
  const source = volume?.configMap;
  assert.ok(source, `volume ${mount.name} (at ${mount.mountPath}) is not a ConfigMap`);
  const file = path.slice(mount.mountPath.length + 1);
  // With `items`, only the listed keys appear, under their `path`.
  const key = source.items ? source.items.find((i) => i.path === file)?.key : file;
  assert.ok(key, `ConfigMap volume ${mount.name} puts nothing at ${file}`);
  const data = find(TRY_REDIS, 'ConfigMap', source.name).data as Record<string, string>;
  assert.ok(key in data, `ConfigMap ${source.name} has no key ${key}`);
  return data[key];
}

const CONFIG_TEXT = mountedConfig();
const POD_ENV = podEnv(gateway, TRY_REDIS);

/** The config as the pod would load it (its environment, Cutover's own loader and defaults). */
function loadedConfig(): Config {
  return parseConfigText(CONFIG_TEXT, 'deploy/kubernetes/base/cutover.yaml', POD_ENV);
}

const CONFIG = loadedConfig();

test('every object of deploy/kubernetes passes the Kubernetes API schema', () => {
  const errors = TRY_REDIS.flatMap((m) =>
    schemaErrors(m.object).map(
      (e) => `${m.source} ${m.object.kind} ${m.object.metadata.name}: ${e}`,
    ),
  );
  assert.deepEqual(errors, []);
  const kinds = (ms: readonly Manifest[]) =>
    ms.map((m) => `${m.object.kind}/${m.object.metadata.name}`).sort();
  assert.deepEqual(kinds(PRODUCTION), [
    'ConfigMap/cutover-config',
    'Deployment/cutover',
    'PodDisruptionBudget/cutover',
    'Secret/cutover',
    'Service/cutover',
  ]);
  // try-redis is production plus a Redis: nothing of the gateways differs.
  assert.deepEqual(
    kinds(TRY_REDIS),
    [...kinds(PRODUCTION), 'Deployment/cutover-redis', 'Service/cutover-redis'].sort(),
  );
  for (const m of PRODUCTION) {
    assert.deepEqual(find(TRY_REDIS, m.object.kind, m.object.metadata.name), m.object);
  }
});

test('the schema check rejects a broken manifest, naming the field', () => {
  const broken = (kind: string, name: string, breakIt: (o: KubeObject) => void): string[] => {
    const copy = structuredClone(find(TRY_REDIS, kind, name));
    breakIt(copy);
    return schemaErrors(copy);
  };
  const replicas = broken('Deployment', 'cutover', (d) => {
    (d.spec as { replicas: unknown }).replicas = '3';
  });
  assert.deepEqual(replicas, ['/spec/replicas must be integer']);

  const probe = broken('Deployment', 'cutover', (d) => {
    delete (container(d, 'cutover').readinessProbe!.httpGet as { port?: unknown }).port;
  });
  assert.equal(probe.length, 1, probe.join('\n'));
  assert.match(probe[0], /^\/spec\/template\/spec\/containers\/0\/readinessProbe\/httpGet .*port/);

  const port = broken('Service', 'cutover', (s) => {
    (s.spec as { ports: { port: unknown }[] }).ports[0].port = 'http';
  });
  assert.deepEqual(port, ['/spec/ports/0/port must be integer']);

  const kind = broken('Service', 'cutover', (s) => {
    s.kind = 'Servce';
  });
  assert.match(kind[0], /no schema for v1 Servce/);
});

test('the gateway container reads the ConfigMap made from base/cutover.yaml', () => {
  assert.equal(CONFIG_TEXT, readFileSync(join(KUBERNETES, 'base/cutover.yaml'), 'utf8'));
  const args = gateway.args ?? [];
  assert.deepEqual(args.slice(0, 1), ['start']);
  const mount = gateway.volumeMounts?.find((m) => m.name === 'config');
  assert.equal(mount?.readOnly, true);
});

test("the probes ask /readyz and /healthz on the config's admin port, reachable from the kubelet", () => {
  const admin = CONFIG.admin.listen;
  // The kubelet probes the pod's IP: a loopback admin listener would fail every probe.
  assert.ok(admin.host === '0.0.0.0' || admin.host === '::', `admin listens on ${admin.host}`);
  const probes = {
    readiness: gateway.readinessProbe?.httpGet,
    liveness: gateway.livenessProbe?.httpGet,
    startup: gateway.startupProbe?.httpGet,
  };
  assert.equal(probes.readiness?.path, '/readyz');
  assert.equal(probes.liveness?.path, '/healthz');
  assert.equal(probes.startup?.path, '/healthz');
  for (const [name, get] of Object.entries(probes)) {
    assert.equal(portNumber(gateway, get!.port), admin.port, `${name} probe port`);
  }
});

test("the Service sends traffic to the config's listen port and admin calls to its admin port", () => {
  const service = find(TRY_REDIS, 'Service', 'cutover');
  const spec = service.spec as {
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: number | string }[];
  };
  const targets = Object.fromEntries(
    spec.ports.map((p) => [p.name, portNumber(gateway, p.targetPort)]),
  );
  assert.deepEqual(targets, { http: CONFIG.listen.port, admin: CONFIG.admin.listen.port });
  assert.ok(CONFIG.listen.host === '0.0.0.0' || CONFIG.listen.host === '::');

  // The Service, the PodDisruptionBudget and the Deployment all select the gateway's pods.
  const labels = pod(gatewayDeployment).labels;
  const selects = (selector: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  const deploymentSpec = gatewayDeployment.spec as {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
  };
  assert.ok(selects(spec.selector), 'Service selector');
  assert.ok(selects(deploymentSpec.selector.matchLabels), 'Deployment selector');
  const pdb = find(TRY_REDIS, 'PodDisruptionBudget', 'cutover').spec as {
    maxUnavailable?: number;
    selector: { matchLabels: Record<string, string> };
  };
  assert.ok(selects(pdb.selector.matchLabels), 'PodDisruptionBudget selector');
  assert.equal(deploymentSpec.replicas, 3);
  assert.equal(pdb.maxUnavailable, 1);
});

test('Kubernetes waits for the preStop pause, the drain and the rest of shutdown before SIGKILL', () => {
  const grace = pod(gatewayDeployment).spec.terminationGracePeriodSeconds;
  const pause = preStopSeconds(gateway);
  const drain = CONFIG.server.shutdownGrace / 1000;
  // src/cli/main.ts: after shutdownGrace, one more second before Cutover exits on its own.
  const rest = 1;
  assert.ok(pause >= 1, `preStop pauses ${pause} s`);
  assert.ok(
    typeof grace === 'number' && grace > pause + drain + rest,
    `terminationGracePeriodSeconds ${grace} ≤ preStop ${pause} + shutdownGrace ${drain} + ${rest}`,
  );
});

test('the Secret holds the keys the pods read and no other, each an example to replace', () => {
  const refs = new Set<string>();
  for (const m of TRY_REDIS.filter((x) => x.object.kind === 'Deployment')) {
    for (const c of pod(m.object).spec.containers) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref) refs.add(`${ref.name}/${ref.key}`);
      }
    }
  }
  const secret = find(TRY_REDIS, 'Secret', 'cutover');
  const data = secretData(secret);
  assert.deepEqual(
    [...refs].sort(),
    Object.keys(data)
      .map((k) => `cutover/${k}`)
      .sort(),
  );
  for (const [key, value] of Object.entries(data)) {
    assert.match(value, /^REPLACE-ME/, `Secret key ${key} is not marked as an example`);
  }
});

test("every environment reference of the config is in the gateway's env, and the token arrives", () => {
  // Values only: the file's comments mention ${NAME} too.
  const values = JSON.stringify(parseDocument(CONFIG_TEXT).toJS());
  const references = [...values.matchAll(/\$\{([A-Za-z_]\w*)\}/g)].map((m) => m[1]);
  assert.ok(references.length > 0);
  for (const name of references) assert.ok(name in POD_ENV, `${name} is not in the pod's env`);
  assert.equal(CONFIG.admin.token, secretData(find(TRY_REDIS, 'Secret', 'cutover'))['admin-token']);
});

test("the config's Redis is try-redis's Service, with the password Redis is started with", () => {
  const raw = parseDocument(CONFIG_TEXT).get('state');
  assert.equal(typeof raw, 'string');
  const url = new URL(
    (raw as string).replace(/\$\{(\w+)\}/g, (_, name: string) => POD_ENV[name] ?? ''),
  );
  assert.equal(url.protocol, 'redis:');
  const service = find(TRY_REDIS, 'Service', 'cutover-redis');
  const port = (service.spec as { ports: { port: number }[] }).ports[0].port;
  assert.equal(url.hostname, service.metadata.name);
  assert.equal(Number(url.port), port);
  const redis = container(find(TRY_REDIS, 'Deployment', 'cutover-redis'), 'redis');
  const args = redis.args ?? [];
  const passwordVariable = /^\$\((\w+)\)$/.exec(args[args.indexOf('--requirepass') + 1])?.[1];
  assert.ok(passwordVariable, `redis args: ${JSON.stringify(args)}`);
  assert.equal(decodeURIComponent(url.password), podEnv(redis, TRY_REDIS)[passwordVariable]);
});

test("the pods run as the image's non-root user on a read-only root filesystem", () => {
  const image = stages(join(ROOT, 'deploy/Dockerfile')).at(-1)!;
  const user = image.instructions.findLast((i) => i.keyword === 'USER')?.args ?? '';
  const uid = Number(user.split(':')[0]);
  assert.equal(pod(gatewayDeployment).spec.securityContext?.runAsUser, uid);
  for (const m of TRY_REDIS.filter((x) => x.object.kind === 'Deployment')) {
    const spec = pod(m.object).spec;
    const name = m.object.metadata.name;
    assert.equal(spec.securityContext?.runAsNonRoot, true, `${name}: runAsNonRoot`);
    assert.equal(spec.automountServiceAccountToken, false, `${name}: service account token`);
    assert.equal(spec.enableServiceLinks, false, `${name}: service links`);
    for (const c of spec.containers) {
      const s = c.securityContext;
      assert.equal(s?.readOnlyRootFilesystem, true, `${name}/${c.name}: read-only root`);
      assert.equal(s?.allowPrivilegeEscalation, false, `${name}/${c.name}: privilege escalation`);
      assert.deepEqual(s?.capabilities?.drop, ['ALL'], `${name}/${c.name}: capabilities`);
      assert.ok(
        c.resources?.requests && c.resources.limits?.memory,
        `${name}/${c.name}: resources`,
      );
    }
  }
});

test("the whole config passes Cutover's own check, redis:// state included", () => {
  const config = parseConfigText(CONFIG_TEXT, 'deploy/kubernetes/base/cutover.yaml', POD_ENV);
  assert.match(JSON.stringify(config.state), /redis:\/\//);
});
