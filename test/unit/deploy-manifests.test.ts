/**
 * Checks the Kubernetes manifests of deploy/ against each other and against the code they run:
 * every file parses, kustomization.yaml lists exactly the manifests, selectors, ports, probes,
 * volumes and references line up, every environment variable is one src/config.ts reads (so a
 * renamed variable fails here), src/config.ts and src/policy accept the values, and the Secret
 * templates hold placeholders only. Not checked: the API schema itself (only a cluster or a
 * schema validator knows every field name).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parsePolicy } from '../../src/policy/policy.js';
import { KILL_MARGIN_MS } from '../../src/process/shutdown.js';

const ROOT = new URL('../../', import.meta.url);
const DEPLOY = new URL('deploy/', ROOT);
const NAMESPACE = 'cr-orchestrator';
/** Applied by hand, never by kustomization.yaml (they would overwrite the real secrets). */
const TEMPLATE = /\.template\.ya?ml$/;
/** The only values a Secret in deploy/ may hold. */
const PLACEHOLDER = /^REPLACE_ME[A-Z0-9_]*$/;

/**
 * Variables the manifests set that src/config.ts does not read, each on purpose. OTEL_* are the
 * OpenTelemetry SDK's own and always allowed.
 */
const INTENTIONALLY_EXTRA: Record<string, string> = {
  POD_NAME: 'downward API, only to compose OTEL_RESOURCE_ATTRIBUTES',
  POD_NAMESPACE: 'downward API, only to compose OTEL_RESOURCE_ATTRIBUTES',
};
/** Variables that exist for tests only and must never reach a deployment. */
const TEST_ONLY = ['FAULT_CRASH_AFTER_COMMIT'];

// ---------------------------------------------------------------------------------------------
// The objects, as far as these checks read them (zod drops every other field).

const Labels = z.record(z.string(), z.string());
const Metadata = z.object({
  name: z.string().min(1),
  namespace: z.string().optional(),
  labels: Labels.optional(),
});
const KubeObject = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  metadata: Metadata,
});
type KubeObject = z.infer<typeof KubeObject>;

const PortRef = z.union([z.string().min(1), z.number().int()]);
const Probe = z.object({
  httpGet: z.object({ path: z.string(), port: PortRef }).optional(),
  tcpSocket: z.object({ port: PortRef }).optional(),
  exec: z.object({ command: z.array(z.string()) }).optional(),
});
const KeyRef = z.object({ name: z.string(), key: z.string(), optional: z.boolean().optional() });
const EnvVar = z.object({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z
    .object({
      secretKeyRef: KeyRef.optional(),
      configMapKeyRef: KeyRef.optional(),
      fieldRef: z.object({ fieldPath: z.string() }).optional(),
    })
    .optional(),
});
const SecurityContext = z.object({
  runAsNonRoot: z.boolean().optional(),
  readOnlyRootFilesystem: z.boolean().optional(),
  allowPrivilegeEscalation: z.boolean().optional(),
});
const Container = z.object({
  name: z.string().min(1),
  image: z.string().min(1),
  command: z.array(z.string()).min(1),
  ports: z
    .array(z.object({ name: z.string().optional(), containerPort: z.number().int() }))
    .default([]),
  env: z.array(EnvVar).default([]),
  envFrom: z
    .array(
      z.object({
        configMapRef: z.object({ name: z.string() }).optional(),
        secretRef: z.object({ name: z.string() }).optional(),
      }),
    )
    .default([]),
  startupProbe: Probe.optional(),
  livenessProbe: Probe.optional(),
  readinessProbe: Probe.optional(),
  resources: z.object({
    requests: z.object({ cpu: PortRef, memory: PortRef }),
    limits: z.object({ memory: PortRef }),
  }),
  securityContext: SecurityContext.default({}),
  volumeMounts: z
    .array(z.object({ name: z.string(), mountPath: z.string(), subPath: z.string().optional() }))
    .default([]),
});
type Container = z.infer<typeof Container>;
const Volume = z.object({
  name: z.string(),
  secret: z.object({ secretName: z.string() }).optional(),
  configMap: z.object({ name: z.string() }).optional(),
  persistentVolumeClaim: z.object({ claimName: z.string() }).optional(),
});
const Deployment = KubeObject.extend({
  spec: z.object({
    replicas: z.number().int().min(1),
    selector: z.object({ matchLabels: Labels }),
    strategy: z.object({
      type: z.literal('RollingUpdate'),
      rollingUpdate: z.object({ maxUnavailable: PortRef, maxSurge: PortRef }),
    }),
    template: z.object({
      metadata: z.object({ labels: Labels }),
      spec: z.object({
        terminationGracePeriodSeconds: z.number().int(),
        automountServiceAccountToken: z.boolean().optional(),
        securityContext: SecurityContext.default({}),
        containers: z.array(Container).min(1),
        volumes: z.array(Volume).default([]),
      }),
    }),
  }),
});
type Deployment = z.infer<typeof Deployment>;
const Service = KubeObject.extend({
  spec: z.object({
    type: z.string().default('ClusterIP'),
    externalTrafficPolicy: z.string().optional(),
    selector: Labels,
    ports: z
      .array(z.object({ name: z.string().optional(), port: z.number().int(), targetPort: PortRef }))
      .min(1),
  }),
});
const Pdb = KubeObject.extend({
  spec: z.object({
    minAvailable: PortRef.optional(),
    maxUnavailable: PortRef.optional(),
    selector: z.object({ matchLabels: Labels }),
  }),
});
const Hpa = KubeObject.extend({
  spec: z.object({
    scaleTargetRef: z.object({ kind: z.string(), name: z.string() }),
    minReplicas: z.number().int(),
    maxReplicas: z.number().int(),
  }),
});
const ConfigMap = KubeObject.extend({ data: z.record(z.string(), z.unknown()).default({}) });
const Secret = KubeObject.extend({
  type: z.string().default('Opaque'),
  stringData: z.record(z.string(), z.unknown()).default({}),
  data: z.record(z.string(), z.unknown()).default({}),
});
type Secret = z.infer<typeof Secret>;
const Pvc = KubeObject.extend({ spec: z.object({ accessModes: z.array(z.string()) }) });
const Kustomization = KubeObject.extend({ resources: z.array(z.string()) });

// ---------------------------------------------------------------------------------------------
// Loading

interface Doc {
  file: string;
  object: KubeObject;
  raw: unknown;
}

function yamlFiles(): string[] {
  return readdirSync(DEPLOY)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

/** Every document of every YAML file under deploy/; a parse error or warning is a failure. */
function loadDocs(): Doc[] {
  return yamlFiles().flatMap((file) =>
    parseAllDocuments(readFileSync(new URL(file, DEPLOY), 'utf8')).flatMap((doc, i) => {
      const where = `${file} document ${i + 1}`;
      const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
      if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
      const raw: unknown = doc.toJS();
      if (raw === null || raw === undefined) return []; // an empty document (a trailing ---)
      const parsed = KubeObject.safeParse(raw);
      if (!parsed.success) throw new Error(`${where}: ${z.prettifyError(parsed.error)}`);
      return [{ file, object: parsed.data, raw }];
    }),
  );
}

const docs = loadDocs();
const applied = docs.filter((d) => !TEMPLATE.test(d.file));
const templates = docs.filter((d) => TEMPLATE.test(d.file));

function all<T extends z.ZodType>(kind: string, schema: T, from: Doc[] = applied): z.output<T>[] {
  return from
    .filter((d) => d.object.kind === kind)
    .map((d) => {
      const parsed = schema.safeParse(d.raw);
      if (!parsed.success) {
        throw new Error(
          `${d.file} ${kind} ${d.object.metadata.name}: ${z.prettifyError(parsed.error)}`,
        );
      }
      return parsed.data;
    });
}

const deployments = all('Deployment', Deployment);
const services = all('Service', Service);
const pdbs = all('PodDisruptionBudget', Pdb);
const hpas = all('HorizontalPodAutoscaler', Hpa);
const configMaps = all('ConfigMap', ConfigMap);
const pvcs = all('PersistentVolumeClaim', Pvc);
/** Secrets come from the templates (created out of band in a real cluster). */
const secrets = all('Secret', Secret, docs);

/** `node dist/src/roles/ingress/main.js` and the like, as package.json's start scripts run each role. */
function roleCommands(): Record<'ingress' | 'workers' | 'media', string[]> {
  const pkg = z
    .object({ scripts: z.record(z.string(), z.string()) })
    .parse(JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')));
  const command = (script: string) => (pkg.scripts[script] ?? '').trim().split(/\s+/);
  return {
    ingress: command('start:ingress'),
    workers: command('start:workers'),
    media: command('start:media'),
  };
}
const ROLE_COMMANDS = roleCommands();

function deploymentOf(role: keyof typeof ROLE_COMMANDS): Deployment {
  const found = deployments.filter((d) =>
    d.spec.template.spec.containers.some(
      (c) => JSON.stringify(c.command) === JSON.stringify(ROLE_COMMANDS[role]),
    ),
  );
  if (found.length !== 1) {
    throw new Error(
      `expected one Deployment running ${ROLE_COMMANDS[role].join(' ')}, found ${found.length}`,
    );
  }
  return found[0]!;
}
const mainContainer = (d: Deployment): Container => d.spec.template.spec.containers[0]!;

/** The names of EnvSchema in src/config.ts, read from its text. */
function configVariableNames(): Set<string> {
  const source = readFileSync(new URL('src/config.ts', ROOT), 'utf8');
  const start = source.indexOf('const EnvSchema = z.object({');
  const end = source.indexOf('\n});', start);
  if (start < 0 || end < 0) throw new Error('src/config.ts: EnvSchema not found');
  return new Set(
    [...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!),
  );
}

/** Lists every problem in the failure message (an array diff would truncate them). */
function expectNone(problems: string[], what = 'problems'): void {
  expect(problems.join('\n'), what).toBe('');
}

const labelsMatch = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const podLabels = (d: Deployment) => d.spec.template.metadata.labels;

/** A probe's or Service's port (a name or a number) as a container port number, if any. */
function resolvePort(container: Container, port: string | number): number | undefined {
  const found = container.ports.find((p) =>
    typeof port === 'number' ? p.containerPort === port : p.name === port,
  );
  return found?.containerPort;
}

/**
 * The environment a Deployment's container sees: the ConfigMaps it loads, then its own env.
 * Secret keys become `secretValue(secret, key)`; downward-API fields a stand-in.
 */
function environmentOf(
  container: Container,
  secretValue: (secret: Secret, key: string) => string | undefined,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom) {
    const cm = configMaps.find((c) => c.metadata.name === source.configMapRef?.name);
    if (cm) for (const [k, v] of Object.entries(cm.data)) env[k] = String(v);
  }
  for (const v of container.env) {
    const ref = v.valueFrom?.secretKeyRef;
    if (v.value !== undefined) env[v.name] = v.value;
    else if (v.valueFrom?.fieldRef) env[v.name] = 'pod-0';
    else if (ref) {
      const secret = secrets.find((s) => s.metadata.name === ref.name);
      const value = secret ? secretValue(secret, ref.key) : undefined;
      if (value !== undefined) env[v.name] = value;
    }
  }
  return env;
}
const secretEntries = (s: Secret): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries(s.data).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString()]),
  ),
  ...Object.fromEntries(Object.entries(s.stringData).map(([k, v]) => [k, String(v)])),
});
const REAL_SECRET = 'a-real-secret-of-more-than-32-characters-0123456789';
const realEnvironment = (c: Container) => environmentOf(c, () => REAL_SECRET);
const templateEnvironment = (c: Container) => environmentOf(c, (s, key) => secretEntries(s)[key]);

// ---------------------------------------------------------------------------------------------

describe('deploy/ files', () => {
  it('parses every YAML file into Kubernetes objects with apiVersion, kind and a name', () => {
    expect(yamlFiles().length).toBeGreaterThan(1);
    // overlays in subfolders would be skipped by these checks: extend them first
    const nested = readdirSync(DEPLOY, { recursive: true, encoding: 'utf8' }).filter(
      (f) => /\.ya?ml$/.test(f) && f.includes(posix.sep),
    );
    expect(nested).toEqual([]);
    for (const file of yamlFiles()) {
      expect(
        docs.some((d) => d.file === file),
        `${file} has no document`,
      ).toBe(true);
    }
    const unnamespaced = ['Namespace', 'Kustomization'];
    const problems = docs
      .filter((d) => !unnamespaced.includes(d.object.kind))
      .filter((d) => d.object.metadata.namespace !== NAMESPACE)
      .map((d) => `${d.file} ${d.object.kind} ${d.object.metadata.name}: not in ${NAMESPACE}`);
    expectNone(problems);
    expect(
      applied.filter((d) => d.object.kind === 'Namespace').map((d) => d.object.metadata.name),
    ).toEqual([NAMESPACE]);
  });

  it('has no two objects of one kind with the same name', () => {
    const ids = docs.map((d) => `${d.object.kind}/${d.object.metadata.name}`);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('kustomization.yaml lists exactly the manifests; the templates hold Secrets only', () => {
    const [kustomization, ...others] = all('Kustomization', Kustomization);
    expect(kustomization, 'deploy/kustomization.yaml').toBeDefined();
    expect(others).toEqual([]);
    const manifests = yamlFiles().filter((f) => f !== 'kustomization.yaml' && !TEMPLATE.test(f));
    expect([...kustomization!.resources].sort()).toEqual(manifests);
    expect(templates.map((d) => d.object.kind).filter((k) => k !== 'Secret')).toEqual([]);
    // a Secret in an applied manifest would be overwritten with its placeholder on every apply
    expect(applied.filter((d) => d.object.kind === 'Secret').map((d) => d.file)).toEqual([]);
  });
});

describe('Deployments', () => {
  it('run each role once, with the command of its package.json start script', () => {
    const roles = (['ingress', 'workers', 'media'] as const).map(
      (r) => deploymentOf(r).metadata.name,
    );
    expect(new Set(roles).size).toBe(3);
    expect(deployments).toHaveLength(3);
    for (const d of deployments) {
      const script = mainContainer(d).command.find((a) => a.startsWith('dist/'));
      expect(script, `${d.metadata.name} runs a built file`).toBeDefined();
      const source = script!.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(existsSync(new URL(source, ROOT)), `${source} exists`).toBe(true);
    }
  });

  it('select their own pods, are hardened, never go below their count while rolling', () => {
    const problems: string[] = [];
    for (const d of deployments) {
      const name = d.metadata.name;
      const spec = d.spec.template.spec;
      if (!labelsMatch(d.spec.selector.matchLabels, podLabels(d)))
        problems.push(`${name}: selector does not match the template's labels`);
      if (String(d.spec.strategy.rollingUpdate.maxUnavailable) !== '0')
        problems.push(`${name}: maxUnavailable is not 0`);
      if (spec.automountServiceAccountToken !== false)
        problems.push(`${name}: mounts a service account token it never uses`);
      for (const c of spec.containers) {
        const sc = { ...spec.securityContext, ...c.securityContext };
        if (sc.runAsNonRoot !== true) problems.push(`${name}/${c.name}: may run as root`);
        if (c.securityContext.readOnlyRootFilesystem !== true)
          problems.push(`${name}/${c.name}: root filesystem is writable`);
        if (c.securityContext.allowPrivilegeEscalation !== false)
          problems.push(`${name}/${c.name}: allows privilege escalation`);
        for (const m of c.volumeMounts) {
          if (!spec.volumes.some((v) => v.name === m.name))
            problems.push(`${name}/${c.name}: mounts undeclared volume ${m.name}`);
        }
        if (c.livenessProbe?.exec || c.readinessProbe?.exec)
          problems.push(`${name}/${c.name}: an exec probe proves nothing about the process`);
      }
      for (const v of spec.volumes) {
        if (v.configMap && !configMaps.some((c) => c.metadata.name === v.configMap!.name))
          problems.push(`${name}: volume ${v.name} names a missing ConfigMap`);
        if (v.secret && !secrets.some((s) => s.metadata.name === v.secret!.secretName))
          problems.push(`${name}: volume ${v.name} names a missing Secret`);
        const claim = v.persistentVolumeClaim?.claimName;
        if (claim && !pvcs.some((p) => p.metadata.name === claim))
          problems.push(`${name}: volume ${v.name} names a missing PersistentVolumeClaim`);
      }
    }
    expectNone(problems);
  });

  it('let each process force its own exit (SHUTDOWN_GRACE_MS, delay included) before SIGKILL', () => {
    for (const d of deployments) {
      // loadConfig refuses a SHUTDOWN_DELAY_MS that does not fit inside SHUTDOWN_GRACE_MS
      const config = loadConfig(realEnvironment(mainContainer(d)));
      expect(config.shutdownDelayMs, `${d.metadata.name} SHUTDOWN_DELAY_MS`).toBeLessThan(
        config.shutdownGraceMs,
      );
      expect(
        d.spec.template.spec.terminationGracePeriodSeconds * 1000,
        `${d.metadata.name} terminationGracePeriodSeconds`,
      ).toBeGreaterThanOrEqual(config.shutdownGraceMs + KILL_MARGIN_MS);
    }
  });

  it('ingress: /healthz for liveness and start-up, /readyz for readiness, on the PORT it binds', () => {
    const d = deploymentOf('ingress');
    const c = mainContainer(d);
    const port = loadConfig(realEnvironment(c)).port;
    expect(port).toBe(3978);
    const probe = (p: z.infer<typeof Probe> | undefined) =>
      p?.httpGet && { path: p.httpGet.path, port: resolvePort(c, p.httpGet.port) };
    expect(probe(c.livenessProbe)).toEqual({ path: '/healthz', port });
    expect(probe(c.startupProbe)).toEqual({ path: '/healthz', port });
    expect(probe(c.readinessProbe)).toEqual({ path: '/readyz', port });
  });

  it('media: the TLS port, the certificate Secret as files, the recordings on a shared volume', () => {
    const d = deploymentOf('media');
    const c = mainContainer(d);
    const config = loadConfig(realEnvironment(c));
    expect(config.mediaPort).toBe(8445);
    expect(c.ports.map((p) => p.containerPort)).toContain(config.mediaPort);
    expect(resolvePort(c, c.readinessProbe?.tcpSocket?.port ?? -1)).toBe(config.mediaPort);

    const mountOf = (volume: (v: z.infer<typeof Volume>) => boolean) => {
      const v = d.spec.template.spec.volumes.find(volume);
      return v && c.volumeMounts.find((m) => m.name === v.name);
    };
    const tlsMount = mountOf((v) =>
      secrets.some(
        (s) => s.metadata.name === v.secret?.secretName && s.type === 'kubernetes.io/tls',
      ),
    );
    expect(tlsMount, 'a kubernetes.io/tls Secret mounted as a directory').toBeDefined();
    expect(tlsMount?.subPath, 'a subPath mount never sees a renewed certificate').toBeUndefined();
    expect(config.mediaTlsCertFile).toBe(posix.join(tlsMount!.mountPath, 'tls.crt'));
    expect(config.mediaTlsKeyFile).toBe(posix.join(tlsMount!.mountPath, 'tls.key'));

    const claim = d.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim);
    const pvc = pvcs.find((p) => p.metadata.name === claim?.persistentVolumeClaim?.claimName);
    expect(pvc?.spec.accessModes, 'media processes resume each other: ReadWriteMany').toContain(
      'ReadWriteMany',
    );
    expect(c.volumeMounts.find((m) => m.name === claim?.name)?.mountPath).toBe(
      config.recordingsDir,
    );
  });

  it('ingress and workers mount the policy that POLICY_FILE names, and it parses', () => {
    for (const role of ['ingress', 'workers'] as const) {
      const d = deploymentOf(role);
      const c = mainContainer(d);
      const file = loadConfig(realEnvironment(c)).policyFile;
      expect(file, `${role}: POLICY_FILE`).toBeDefined();
      const volume = d.spec.template.spec.volumes.find(
        (v) =>
          v.configMap &&
          c.volumeMounts.some((m) => m.name === v.name && m.mountPath === posix.dirname(file!)),
      );
      const cm = configMaps.find((m) => m.metadata.name === volume?.configMap?.name);
      const text = cm?.data[posix.basename(file!)];
      expect(typeof text, `${role}: ${file} is a key of a mounted ConfigMap`).toBe('string');
      expect(() => parsePolicy(String(text), file)).not.toThrow();
    }
  });
});

describe('Services, disruption budgets and autoscalers', () => {
  it('every Service selects one Deployment and targets a port it exposes', () => {
    const problems: string[] = [];
    for (const s of services) {
      const targets = deployments.filter((d) => labelsMatch(s.spec.selector, podLabels(d)));
      if (targets.length !== 1) {
        problems.push(`Service ${s.metadata.name} selects ${targets.length} Deployments`);
        continue;
      }
      for (const p of s.spec.ports) {
        const exposed = targets[0]!.spec.template.spec.containers.some(
          (c) => resolvePort(c, p.targetPort) !== undefined,
        );
        if (!exposed)
          problems.push(`Service ${s.metadata.name}: no container port ${p.targetPort}`);
      }
    }
    expectNone(problems);
  });

  it('the ingress Service is ClusterIP 80; the media Service is reachable from outside', () => {
    const selecting = (d: Deployment) =>
      services.filter((s) => labelsMatch(s.spec.selector, podLabels(d)));
    const [ingress] = selecting(deploymentOf('ingress'));
    expect(ingress?.spec.type).toBe('ClusterIP');
    expect(ingress?.spec.ports.map((p) => p.port)).toEqual([80]);
    const [media] = selecting(deploymentOf('media'));
    expect(['LoadBalancer', 'NodePort']).toContain(media?.spec.type);
    expect(media?.spec.externalTrafficPolicy).toBe('Local');
    expect(media?.spec.ports.map((p) => p.port)).toEqual([8445]);
    expect(selecting(deploymentOf('workers'))).toEqual([]);
  });

  it('every Deployment is covered by exactly one PodDisruptionBudget, one pod at a time', () => {
    const problems: string[] = [];
    for (const d of deployments) {
      const covering = pdbs.filter((p) => labelsMatch(p.spec.selector.matchLabels, podLabels(d)));
      // the eviction API refuses pods that more than one budget selects
      if (covering.length !== 1)
        problems.push(`${d.metadata.name}: ${covering.length} PodDisruptionBudgets`);
      const pdb = covering[0];
      if (pdb && String(pdb.spec.maxUnavailable) !== '1' && pdb.spec.minAvailable === undefined)
        problems.push(`${pdb.metadata.name}: neither maxUnavailable 1 nor minAvailable`);
    }
    for (const p of pdbs) {
      if (!deployments.some((d) => labelsMatch(p.spec.selector.matchLabels, podLabels(d))))
        problems.push(`PodDisruptionBudget ${p.metadata.name} selects no Deployment`);
    }
    expectNone(problems);
  });

  it('autoscalers target Deployments whose replicas equal their minimum', () => {
    for (const h of hpas) {
      const target = deployments.find((d) => d.metadata.name === h.spec.scaleTargetRef.name);
      expect(target, `HPA ${h.metadata.name} target`).toBeDefined();
      expect(h.spec.scaleTargetRef.kind).toBe('Deployment');
      expect(target!.spec.replicas).toBe(h.spec.minReplicas);
      expect(h.spec.maxReplicas).toBeGreaterThanOrEqual(h.spec.minReplicas);
    }
  });
});

describe('configuration and secrets', () => {
  const known = configVariableNames();

  it('reads the variable names of src/config.ts', () => {
    expect(known.size).toBeGreaterThan(20);
    for (const name of ['REDIS_URL', 'PORT', 'MEDIA_PORT', 'POLICY_FILE', 'BOT_APP_SECRET'])
      expect(known).toContain(name);
  });

  it('sets only variables that src/config.ts reads, OTEL_* and the documented extras', () => {
    const set: { name: string; where: string }[] = [
      ...configMaps
        .filter((c) => c.metadata.name !== 'cr-orchestrator-policy')
        .flatMap((c) =>
          Object.keys(c.data).map((name) => ({ name, where: `ConfigMap ${c.metadata.name}` })),
        ),
      ...secrets
        .filter((s) => s.type === 'Opaque')
        .flatMap((s) =>
          Object.keys(secretEntries(s)).map((name) => ({
            name,
            where: `Secret ${s.metadata.name}`,
          })),
        ),
      ...deployments.flatMap((d) =>
        d.spec.template.spec.containers.flatMap((c) =>
          c.env.map((e) => ({ name: e.name, where: `Deployment ${d.metadata.name}` })),
        ),
      ),
    ];
    const unknown = set
      .filter(({ name }) => !known.has(name) && !name.startsWith('OTEL_'))
      .filter(({ name }) => !(name in INTENTIONALLY_EXTRA))
      .map(({ name, where }) => `${where}: ${name}`);
    expectNone(unknown, 'renamed or misspelt variables');
    expect(set.filter(({ name }) => TEST_ONLY.includes(name))).toEqual([]);
  });

  it('ConfigMap values are strings, as the API requires', () => {
    const problems = [
      ...configMaps.flatMap((c) =>
        Object.entries(c.data)
          .filter(([, v]) => typeof v !== 'string')
          .map(([k]) => `ConfigMap ${c.metadata.name}: ${k} is not a string (quote it)`),
      ),
    ];
    expectNone(problems);
  });

  it('every Secret or ConfigMap a container reads exists with the key it names', () => {
    const problems: string[] = [];
    for (const d of deployments) {
      for (const c of d.spec.template.spec.containers) {
        for (const from of c.envFrom) {
          const name = from.configMapRef?.name ?? from.secretRef?.name;
          const found = from.configMapRef
            ? configMaps.some((m) => m.metadata.name === name)
            : secrets.some((s) => s.metadata.name === name);
          if (!found) problems.push(`${d.metadata.name}: envFrom ${name} does not exist`);
        }
        for (const e of c.env) {
          const ref = e.valueFrom?.secretKeyRef;
          if (!ref || ref.optional) continue;
          const secret = secrets.find((s) => s.metadata.name === ref.name);
          if (!secret || !(ref.key in secretEntries(secret)))
            problems.push(`${d.metadata.name}: ${e.name} from missing ${ref.name}/${ref.key}`);
        }
      }
    }
    expectNone(problems);
  });

  it('src/config.ts accepts each Deployment environment once real secrets are in place', () => {
    for (const d of deployments) {
      expect(() => loadConfig(realEnvironment(mainContainer(d))), d.metadata.name).not.toThrow();
    }
  });

  it('Secrets hold placeholders only, and a process refuses to start with them', () => {
    const problems = secrets.flatMap((s) =>
      Object.entries(secretEntries(s))
        .filter(([, v]) => !PLACEHOLDER.test(v))
        .map(([k]) => `Secret ${s.metadata.name}: ${k} is not a placeholder like REPLACE_ME`),
    );
    expectNone(problems);
    for (const role of ['ingress', 'workers', 'media'] as const) {
      expect(() => loadConfig(templateEnvironment(mainContainer(deploymentOf(role))))).toThrow(
        ConfigError,
      );
    }
  });
});
