// Validates deploy/kubernetes as a real API server and kustomize would, before anyone applies it:
//   - every object against Kubernetes' own schemas (kubernetes-models), unknown fields refused by walking the
//     official client's field lists (@kubernetes/client-node), names and labels by the server's rules;
//   - the kustomization: its resources exist, its secretGenerator files are what make-kubernetes-keys.sh writes;
//   - the wiring: Service selectors and target ports, probe ports, volumes and mounts, Secret names, every key
//     path a container is given lies in a Secret mounted there and holding that file, the adapter's Role has
//     exactly the Pod verbs it uses, and every flag a container passes is one its program's --help lists.
//
//   node validate_manifests.mjs DEPLOY_DIR KEYS_DIR BIN_DIR
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import yaml from 'js-yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';

import { unknownFields } from './strict_fields.mjs';

const [deployDir, keysDir, binDir] = process.argv.slice(2);
const failures = [];
const fail = (what) => { failures.push(what); console.log(`FAIL ${what}`); };
const models = {
  'apps/v1/Deployment': [Deployment, 'V1Deployment'],
  'v1/Service': [Service, 'V1Service'],
  'v1/Namespace': [Namespace, 'V1Namespace'],
  'v1/ServiceAccount': [ServiceAccount, 'V1ServiceAccount'],
  'rbac.authorization.k8s.io/v1/Role': [Role, 'V1Role'],
  'rbac.authorization.k8s.io/v1/RoleBinding': [RoleBinding, 'V1RoleBinding'],
};
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelValue = (v) => typeof v === 'string' && (v === '' || (v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v)));

const kustomization = yaml.load(fs.readFileSync(path.join(deployDir, 'kustomization.yaml'), 'utf8'));
const namespace = kustomization.namespace;
const secrets = new Map(); // name -> file names
for (const g of kustomization.secretGenerator || []) {
  secrets.set(g.name, g.files.map((f) => path.basename(f)));
  for (const f of g.files) if (!fs.existsSync(path.join(keysDir, path.basename(f)))) fail(`secretGenerator ${g.name}: make-kubernetes-keys.sh writes no ${f}`);
}
if (!kustomization.generatorOptions?.disableNameSuffixHash) fail('the Secrets need stable names (the adapter names one in a flag)');

const objects = [];
for (const file of kustomization.resources) {
  const full = path.join(deployDir, file);
  if (!fs.existsSync(full)) { fail(`resource ${file} does not exist`); continue; }
  for (const doc of yaml.loadAll(fs.readFileSync(full, 'utf8'))) if (doc) objects.push({ file, doc });
}
for (const { file, doc } of objects) {
  const id = `${file}: ${doc.kind} ${doc.metadata?.name}`;
  const entry = models[`${doc.apiVersion}/${doc.kind}`];
  if (!entry) { fail(`${id}: no model for ${doc.apiVersion} ${doc.kind}`); continue; }
  try { new entry[0](doc).validate(); } catch (e) { fail(`${id}: ${e.message}`); }
  const unknown = unknownFields(entry[1], doc);
  if (unknown.length) fail(`${id}: unknown fields ${unknown.join(', ')}`);
  if (!dnsLabel.test(doc.metadata.name)) fail(`${id}: the name is not a DNS-1123 label`);
  for (const [k, v] of Object.entries(doc.metadata.labels || {})) if (!labelValue(v)) fail(`${id}: label ${k}=${v}`);
  console.log(`ok   ${id}`);
}

const deployments = objects.filter((o) => o.doc.kind === 'Deployment').map((o) => o.doc);
for (const d of deployments) {
  const id = `Deployment ${d.metadata.name}`;
  const podLabels = d.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) if (podLabels[k] !== v) fail(`${id}: its selector does not match its Pods`);
  const volumes = new Map((d.spec.template.spec.volumes || []).map((v) => [v.name, v]));
  for (const v of volumes.values()) if (v.secret && !secrets.has(v.secret.secretName)) fail(`${id}: volume ${v.name} names Secret ${v.secret.secretName}, which is not generated`);
  for (const c of d.spec.template.spec.containers) {
    const ports = new Set((c.ports || []).map((p) => p.name));
    for (const probe of [c.readinessProbe, c.livenessProbe]) {
      const port = probe?.httpGet?.port;
      if (port && typeof port === 'string' && !ports.has(port)) fail(`${id}: a probe names port ${port}, which the container does not have`);
    }
    const mounts = new Map();
    for (const m of c.volumeMounts || []) {
      if (!volumes.has(m.name)) fail(`${id}: mount ${m.name} has no volume`);
      else if (volumes.get(m.name).secret) mounts.set(m.mountPath, volumes.get(m.name).secret.secretName);
    }
    const args = [...(c.command || []), ...(c.args || [])];
    // every key path lies in a mounted Secret holding that file (or, for the workers, in --secret-volume's)
    const secretVolumes = new Map();
    args.forEach((a, i) => { if (args[i - 1] === '--secret-volume') { const [s, p] = a.split(':'); secretVolumes.set(p, s); } });
    for (const a of args) {
      if (!a.startsWith('/keys/') && !a.startsWith('/etc/scaler/keys/')) continue;
      const dir = path.dirname(a);
      const secret = mounts.get(a) || mounts.get(dir) || secretVolumes.get(dir);
      if (!secret) fail(`${id}: ${a} is in no mounted Secret`);
      else if (mounts.get(a) === undefined && !secrets.get(secret)?.includes(path.basename(a))) fail(`${id}: Secret ${secret} holds no ${path.basename(a)} for ${a}`);
    }
    for (const [, s] of secretVolumes) if (!secrets.has(s)) fail(`${id}: --secret-volume names Secret ${s}, which is not generated`);
    // every flag is one the program knows
    const program = path.join(binDir, path.basename(args[0]));
    const help = execFileSync(program, ['--help'], { encoding: 'utf8' });
    for (const a of args.slice(1)) if (a.startsWith('--') && !help.includes(a.split('=')[0])) fail(`${id}: ${path.basename(args[0])} has no flag ${a}`);
  }
}
for (const s of objects.filter((o) => o.doc.kind === 'Service').map((o) => o.doc)) {
  const target = deployments.find((d) => Object.entries(s.spec.selector).every(([k, v]) => d.spec.template.metadata.labels[k] === v));
  if (!target) { fail(`Service ${s.metadata.name} selects no Deployment's Pods`); continue; }
  const ports = new Set(target.spec.template.spec.containers.flatMap((c) => (c.ports || []).map((p) => p.name)));
  for (const p of s.spec.ports) if (typeof p.targetPort === 'string' && !ports.has(p.targetPort)) fail(`Service ${s.metadata.name}: targetPort ${p.targetPort} is no container port`);
}
const role = objects.find((o) => o.doc.kind === 'Role')?.doc;
const verbs = role?.rules.flatMap((r) => r.verbs).sort().join(',');
if (verbs !== 'create,delete,get,list') fail(`the adapter's Role grants ${verbs}; it uses exactly create, delete, get, list on pods`);
const binding = objects.find((o) => o.doc.kind === 'RoleBinding')?.doc;
if (binding?.subjects[0].namespace !== namespace) fail('the RoleBinding names its ServiceAccount in another namespace');
console.log(failures.length ? `${failures.length} problems` : 'all manifests valid');
process.exit(failures.length ? 1 : 0);
