// A Kubernetes API server stand-in for the Kubernetes adapter's tests. No real API server can run here, so
// this checks what a real one checks, from Kubernetes' own definitions:
//   - TLS with a test CA; a bearer token (read again from --token-file on every request, so a rotated token
//     refuses the old one) or a client certificate signed by --client-ca; 401 otherwise.
//   - Paths, verbs and content types (405, 404, 415) of the core v1 Pod API.
//   - Every Pod body validated against Kubernetes' OpenAPI schemas (the kubernetes-models package) and, with
//     fieldValidation=Strict, unknown fields refused by walking the field lists the official client
//     (@kubernetes/client-node) carries; without Strict they are dropped with a "Warning: 299" header.
//   - Rules the schemas do not carry: DNS-1123 names, label keys and 63-character values, an image, requests
//     not above limits, the namespace of the body and the path agreeing. 409 AlreadyExists on a duplicate.
//   - Opaque resourceVersions; list paging with limit/continue; watches (ADDED/MODIFIED/DELETED, BOOKMARK);
//     compaction makes an old resourceVersion or continue token answer 410 Expired.
//   - Graceful deletion (the Pod stays, with deletionTimestamp, while its process gets SIGTERM, then goes),
//     a uid precondition (409 Conflict), phases Pending/Running/Succeeded/Failed with exit codes.
// Pods run for real: a container's command runs as a local process (its first word mapped with --path-map
// OLD=NEW), so the workers it starts connect to the scheduler.
//
//   node server.mjs --port-file F --cert C --key K --token-file T [--client-ca CA] [--path-map OLD=NEW]
//                   [--log-dir D] [--start-delay-ms MS]
//
// Test controls (plain HTTP on --control-port-file, no auth): POST /_control/fault {"kind": ..., "count": N}
// with kind imagePullBackOff | unschedulable | quota403 | throttle429 | error500 | closeWatches | compact;
// POST /_control/pod {"name", "action": delete | evict | oom | fail}; GET /_control/state.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

import { Pod } from 'kubernetes-models/v1';

import { dropUnknownFields, unknownFields } from './strict_fields.mjs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const logDir = args['log-dir'] || '.';
const startDelayMs = Number(args['start-delay-ms'] || 100);
const [mapFrom, mapTo] = (args['path-map'] || '=').split('=');

// ---- state -------------------------------------------------------------------------------------------
let revision = 1000;
const nextVersion = () => `r${(++revision).toString(36)}`; // opaque: not a number a client could compare
const versionNumber = (rv) => (typeof rv === 'string' && /^r[0-9a-z]+$/.test(rv) ? parseInt(rv.slice(1), 36) : NaN);
let compactedBelow = 0; // events before this revision are forgotten: older versions answer 410
const pods = new Map(); // "ns/name" -> { object, process, killTimer }
const history = []; // { rev, type, object } for watches
const watchers = new Set();
const faults = { imagePullBackOff: 0, unschedulable: 0, quota403: 0, throttle429: 0, error500: 0 };
const counters = { creates: 0, deletes: 0, lists: 0, watches: 0, unauthorized: 0, strictRefusals: 0, invalid: 0 };

function status(code, reason, message, details) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

function send(res, code, body, headers = {}) {
  res.writeHead(code, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function record(type, object) {
  const entry = { rev: versionNumber(object.metadata.resourceVersion), type, object: structuredClone(object) };
  history.push(entry);
  for (const w of watchers) w.offer(entry);
}

function touch(pod, type = 'MODIFIED') {
  pod.object.metadata.resourceVersion = nextVersion();
  record(type, pod.object);
}

// ---- the rules the schemas do not carry --------------------------------------------------------------
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = (s) => typeof s === 'string' && s.length > 0 && s.length <= 253 && s.split('.').every((p) => dnsLabel.test(p));
const labelValue = (v) => v === '' || (v.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(v));
const labelKey = (k) => {
  const slash = k.indexOf('/');
  const name = slash < 0 ? k : k.slice(slash + 1);
  if (slash >= 0 && !dnsSubdomain(k.slice(0, slash))) return false;
  return name.length > 0 && labelValue(name);
};
function quantity(q) {
  const m = /^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/.exec(String(q));
  if (!m) return NaN;
  const factors = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  const suffix = m[2] || '';
  return Number(m[1]) * (suffix.match(/^[eE]/) ? 10 ** Number(suffix.slice(1)) : factors[suffix] || 1);
}

function serverRules(pod) {
  const causes = [];
  const bad = (field, message) => causes.push({ reason: 'FieldValueInvalid', message, field });
  const meta = pod.metadata || {};
  if (!meta.name) causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
  else if (!dnsSubdomain(meta.name)) bad('metadata.name', `Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
  for (const [k, v] of Object.entries(meta.labels || {})) {
    if (!labelKey(k)) bad(`metadata.labels`, `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.'`);
    if (typeof v !== 'string' || !labelValue(v)) bad(`metadata.labels`, `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must be no more than 63 characters`);
  }
  for (const k of Object.keys(meta.annotations || {})) if (!labelKey(k)) bad('metadata.annotations', `Invalid value: "${k}": name part must consist of alphanumeric characters`);
  const spec = pod.spec || {};
  const names = new Set();
  (spec.containers || []).forEach((c, i) => {
    const at = `spec.containers[${i}]`;
    if (!c.image) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${at}.image` });
    if (!c.name || !dnsLabel.test(c.name) || c.name.length > 63) bad(`${at}.name`, `Invalid value: "${c.name}": a lowercase RFC 1123 label`);
    if (names.has(c.name)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: "${c.name}"`, field: `${at}.name` });
    names.add(c.name);
    const requests = c.resources?.requests || {}, limits = c.resources?.limits || {};
    for (const r of Object.keys(requests)) {
      if (limits[r] !== undefined && quantity(requests[r]) > quantity(limits[r])) {
        bad(`${at}.resources.requests`, `Invalid value: "${requests[r]}": must be less than or equal to ${r} limit of ${limits[r]}`);
      }
    }
  });
  if ((spec.containers || []).length === 0) causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' });
  if (spec.terminationGracePeriodSeconds !== undefined && spec.terminationGracePeriodSeconds < 0) bad('spec.terminationGracePeriodSeconds', 'must be >= 0');
  for (const [k, v] of Object.entries(spec.nodeSelector || {})) if (!labelKey(k) || !labelValue(v)) bad('spec.nodeSelector', `Invalid value: "${k}=${v}"`);
  return causes;
}

// ---- running a Pod ------------------------------------------------------------------------------------
function podStatus(phase, extra = {}) {
  return { phase, conditions: [], startTime: new Date().toISOString(), ...extra };
}

function killGroup(entry, signal) {
  if (!entry.process || entry.exited) return;
  try { process.kill(-entry.process.pid, signal); } catch { /* gone */ }
}

function finish(entry, code, reason) {
  const pod = entry.object;
  if (!pods.has(key(pod.metadata.namespace, pod.metadata.name))) return;
  const terminated = { exitCode: code, reason: reason || (code === 0 ? 'Completed' : 'Error'), finishedAt: new Date().toISOString() };
  pod.status = podStatus(code === 0 ? 'Succeeded' : 'Failed', {
    containerStatuses: [{ name: pod.spec.containers[0].name, ready: false, restartCount: 0, image: pod.spec.containers[0].image, state: { terminated } }],
  });
  if (entry.evicted) Object.assign(pod.status, { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' });
  touch(entry);
  if (pod.metadata.deletionTimestamp) remove(entry);
}

function remove(entry) {
  const pod = entry.object;
  const k = key(pod.metadata.namespace, pod.metadata.name);
  if (!pods.has(k)) return;
  clearTimeout(entry.killTimer);
  killGroup(entry, 'SIGKILL');
  pods.delete(k);
  pod.metadata.resourceVersion = nextVersion();
  record('DELETED', pod);
}

function run(entry) {
  const pod = entry.object;
  if (pod.metadata.deletionTimestamp) return;
  const container = pod.spec.containers[0];
  if (entry.fault === 'imagePullBackOff') {
    pod.status = podStatus('Pending', { containerStatuses: [{ name: container.name, ready: false, restartCount: 0, image: container.image,
      state: { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${container.image}"` } } }] });
    touch(entry);
    return;
  }
  if (entry.fault === 'unschedulable') {
    pod.status = podStatus('Pending', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable',
      message: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.' }] });
    touch(entry);
    return;
  }
  const command = [...(container.command || []), ...(container.args || [])];
  if (mapFrom && command[0]?.startsWith(mapFrom)) command[0] = mapTo + command[0].slice(mapFrom.length);
  const env = { ...process.env };
  for (const e of container.env || []) env[e.name] = e.value ?? '';
  const log = fs.openSync(path.join(logDir, `pod-${pod.metadata.name}.log`), 'a');
  entry.process = spawn(command[0], command.slice(1), { env, stdio: ['ignore', log, log], detached: true });
  fs.closeSync(log);
  entry.process.on('spawn', () => {
    pod.status = podStatus('Running', { podIP: '127.0.0.1', containerStatuses: [{ name: container.name, ready: true, restartCount: 0, image: container.image,
      state: { running: { startedAt: new Date().toISOString() } } }] });
    touch(entry);
  });
  entry.process.on('error', (e) => {
    entry.exited = true;
    pod.status = podStatus('Pending', { containerStatuses: [{ name: container.name, ready: false, restartCount: 0, image: container.image,
      state: { waiting: { reason: 'RunContainerError', message: e.message } } }] });
    touch(entry);
  });
  entry.process.on('exit', (code, signal) => {
    entry.exited = true;
    finish(entry, entry.oom ? 137 : code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), entry.oom ? 'OOMKilled' : undefined);
  });
}

const key = (ns, name) => `${ns}/${name}`;

// ---- the API ------------------------------------------------------------------------------------------
function authenticate(req) {
  if (req.socket.authorized && req.socket.getPeerCertificate()?.subject) return true; // a client certificate
  const header = req.headers.authorization || '';
  if (!header.startsWith('Bearer ')) return false;
  const token = fs.readFileSync(args['token-file'], 'utf8').trim();
  return token.length > 0 && header.slice(7) === token;
}

function listPods(ns, url, res) {
  counters.lists++;
  const selector = url.searchParams.get('labelSelector') || '';
  const wanted = selector.split(',').filter(Boolean).map((s) => s.split('='));
  const match = (pod) => wanted.every(([k, v]) => (pod.metadata.labels || {})[k] === v);
  const all = [...pods.values()].map((e) => e.object).filter((p) => (!ns || p.metadata.namespace === ns) && match(p))
    .sort((a, b) => key(a.metadata.namespace, a.metadata.name).localeCompare(key(b.metadata.namespace, b.metadata.name)));
  let offset = 0;
  let listVersion = `r${revision.toString(36)}`;
  const token = url.searchParams.get('continue');
  if (token) {
    let parsed;
    try { parsed = JSON.parse(Buffer.from(token, 'base64').toString()); } catch { return send(res, 400, status(400, 'BadRequest', 'continue key is not valid')); }
    if (versionNumber(parsed.rv) < compactedBelow) {
      return send(res, 410, status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'));
    }
    offset = parsed.offset;
    listVersion = parsed.rv;
  }
  const limit = Number(url.searchParams.get('limit') || 0);
  const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
  const more = limit > 0 && offset + limit < all.length;
  const metadata = { resourceVersion: listVersion };
  if (more) metadata.continue = Buffer.from(JSON.stringify({ rv: listVersion, offset: offset + limit })).toString('base64');
  send(res, 200, { kind: 'PodList', apiVersion: 'v1', metadata, items: page });
}

function watchPods(ns, url, req, res) {
  counters.watches++;
  const asked = versionNumber(url.searchParams.get('resourceVersion') || '');
  const since = Number.isNaN(asked) ? revision : asked; // none given: the current state, then what follows
  const selector = (url.searchParams.get('labelSelector') || '').split(',').filter(Boolean).map((s) => s.split('='));
  const match = (pod) => (!ns || pod.metadata.namespace === ns) && selector.every(([k, v]) => (pod.metadata.labels || {})[k] === v);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders(); // a client waits for the headers before it reads events
  const write = (type, object) => res.write(JSON.stringify({ type, object }) + '\n');
  if (since < compactedBelow) {
    write('ERROR', status(410, 'Expired', `too old resource version: ${url.searchParams.get('resourceVersion')}`));
    return res.end();
  }
  const watcher = {
    offer(entry) { if (entry.rev > since && match(entry.object)) write(entry.type, entry.object); },
    close() { watchers.delete(watcher); res.end(); },
  };
  if (Number.isNaN(asked)) { for (const e of pods.values()) if (match(e.object)) write('ADDED', e.object); }
  else for (const entry of history) watcher.offer(entry);
  watchers.add(watcher);
  const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true'
    ? setInterval(() => write('BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: `r${revision.toString(36)}` } }), 1000) : null;
  const timeout = setTimeout(() => watcher.close(), Number(url.searchParams.get('timeoutSeconds') || 300) * 1000);
  // the response's close, not the request's: a request "closes" as soon as its body has been read
  res.on('close', () => { clearTimeout(timeout); clearInterval(bookmarks); watchers.delete(watcher); });
}

function createPod(ns, url, req, res, text) {
  const type = (req.headers['content-type'] || '').split(';')[0].trim();
  if (type !== 'application/json') return send(res, 415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`));
  let pod;
  try { pod = JSON.parse(text); } catch (e) { return send(res, 400, status(400, 'BadRequest', `json: ${e.message}`)); }
  if ((pod.kind && pod.kind !== 'Pod') || (pod.apiVersion && pod.apiVersion !== 'v1')) return send(res, 400, status(400, 'BadRequest', `the API version in the data (${pod.apiVersion}) does not match the expected API version (v1)`));
  pod.metadata = pod.metadata || {};
  if (pod.metadata.namespace && pod.metadata.namespace !== ns) return send(res, 400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'));
  const unknown = unknownFields('V1Pod', pod);
  const headers = {};
  if (unknown.length && url.searchParams.get('fieldValidation') === 'Strict') {
    counters.strictRefusals++;
    return send(res, 400, status(400, 'BadRequest', `Pod in version "v1" cannot be handled as a Pod: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`));
  }
  if (unknown.length) { dropUnknownFields('V1Pod', pod); headers.Warning = unknown.map((f) => `299 - "unknown field \\"${f}\\""`).join(', '); }
  const causes = [];
  try { new Pod(pod).validate(); } catch (e) {
    for (const err of e.errors || [{ instancePath: '', message: e.message }]) {
      if (err.keyword === 'oneOf' || (err.keyword === 'type' && err.params?.type === 'number')) continue; // the quantity union's noise
      causes.push({ reason: 'FieldValueInvalid', message: err.message, field: err.instancePath.replace(/^\//, '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.') });
    }
  }
  causes.push(...serverRules(pod));
  if (causes.length) {
    counters.invalid++;
    const message = `Pod "${pod.metadata.name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`;
    return send(res, 422, status(422, 'Invalid', message, { name: pod.metadata.name, kind: 'pods', causes }));
  }
  if (faults.quota403 > 0) {
    faults.quota403--;
    return send(res, 403, status(403, 'Forbidden', `pods "${pod.metadata.name}" is forbidden: exceeded quota: compute-resources, requested: pods=1, used: pods=10, limited: pods=10`, { name: pod.metadata.name, kind: 'pods' }));
  }
  if (pods.has(key(ns, pod.metadata.name))) return send(res, 409, status(409, 'AlreadyExists', `pods "${pod.metadata.name}" already exists`, { name: pod.metadata.name, kind: 'pods' }));
  counters.creates++;
  pod.metadata = { ...pod.metadata, namespace: ns, uid: crypto.randomUUID(), creationTimestamp: new Date().toISOString(), resourceVersion: nextVersion() };
  pod.status = { phase: 'Pending', conditions: [] };
  const entry = { object: pod };
  for (const kind of ['imagePullBackOff', 'unschedulable']) if (faults[kind] > 0) { faults[kind]--; entry.fault = kind; }
  pods.set(key(ns, pod.metadata.name), entry);
  record('ADDED', pod);
  setTimeout(() => run(entry), startDelayMs);
  send(res, 201, pod, headers);
}

function deletePod(ns, name, url, req, res, text) {
  const entry = pods.get(key(ns, name));
  if (!entry) return send(res, 404, status(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' }));
  let options = {};
  if (text) { try { options = JSON.parse(text); } catch { return send(res, 400, status(400, 'BadRequest', 'DeleteOptions is not JSON')); } }
  const pod = entry.object;
  const uid = options.preconditions?.uid;
  if (uid && uid !== pod.metadata.uid) {
    return send(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on Pod "${name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata.uid}`, { name, kind: 'pods' }));
  }
  counters.deletes++;
  const grace = options.gracePeriodSeconds ?? Number(url.searchParams.get('gracePeriodSeconds') ?? pod.spec.terminationGracePeriodSeconds ?? 30);
  const finished = pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';
  if (grace === 0 || finished || !entry.process || entry.exited) {
    remove(entry);
    return send(res, 200, pod);
  }
  if (!pod.metadata.deletionTimestamp) {
    pod.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString();
    pod.metadata.deletionGracePeriodSeconds = grace;
    touch(entry);
    killGroup(entry, 'SIGTERM'); // the kubelet: SIGTERM, SIGKILL after the grace period
    entry.killTimer = setTimeout(() => killGroup(entry, 'SIGKILL'), grace * 1000);
  }
  send(res, 200, pod);
}

function handle(req, res, text) {
  const url = new URL(req.url, 'https://localhost');
  if (!authenticate(req)) { counters.unauthorized++; return send(res, 401, status(401, 'Unauthorized', 'Unauthorized')); }
  if (faults.throttle429 > 0) { faults.throttle429--; return send(res, 429, status(429, 'TooManyRequests', 'Too many requests, please try again later.'), { 'Retry-After': '1' }); }
  if (faults.error500 > 0) { faults.error500--; return send(res, 500, status(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out')); }
  if (url.pathname === '/version') return send(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0-fake' });
  let m;
  if ((m = /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods$/.exec(url.pathname))) {
    const ns = m[1];
    if (req.method === 'GET') return ['1', 'true'].includes(url.searchParams.get('watch')) ? watchPods(ns, url, req, res) : listPods(ns, url, res);
    if (req.method === 'POST' && ns) return createPod(ns, url, req, res, text);
    return send(res, 405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`));
  }
  if ((m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname))) {
    const [, ns, name] = m;
    if (req.method === 'GET') {
      const entry = pods.get(key(ns, name));
      return entry ? send(res, 200, entry.object) : send(res, 404, status(404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' }));
    }
    if (req.method === 'DELETE') return deletePod(ns, name, url, req, res, text);
    return send(res, 405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
  }
  send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
}

function control(req, res, text) {
  const url = new URL(req.url, 'http://localhost');
  const body = text ? JSON.parse(text) : {};
  if (url.pathname === '/_control/state') {
    return send(res, 200, { counters, faults, compactedBelow, pods: [...pods.values()].map((e) => ({
      name: e.object.metadata.name, namespace: e.object.metadata.namespace, phase: e.object.status.phase, uid: e.object.metadata.uid,
      labels: e.object.metadata.labels, terminating: Boolean(e.object.metadata.deletionTimestamp), pid: e.process?.pid, spec: e.object.spec })) });
  }
  if (url.pathname === '/_control/fault') {
    if (body.kind === 'closeWatches') { for (const w of [...watchers]) w.close(); return send(res, 200, {}); }
    if (body.kind === 'compact') { compactedBelow = revision + 1; return send(res, 200, { compactedBelow }); }
    if (!(body.kind in faults)) return send(res, 400, { error: `unknown fault ${body.kind}` });
    faults[body.kind] = body.count ?? 1;
    return send(res, 200, faults);
  }
  if (url.pathname === '/_control/pod') {
    const entry = [...pods.values()].find((e) => e.object.metadata.name === body.name);
    if (!entry) return send(res, 404, { error: `no pod ${body.name}` });
    if (body.action === 'delete') remove(entry); // kubectl delete --grace-period=0 --force
    else if (body.action === 'evict') { entry.evicted = true; killGroup(entry, 'SIGKILL'); if (!entry.process || entry.exited) finish(entry, 137); }
    else if (body.action === 'oom') { entry.oom = true; killGroup(entry, 'SIGKILL'); }
    else if (body.action === 'fail') { killGroup(entry, 'SIGKILL'); }
    else return send(res, 400, { error: `unknown action ${body.action}` });
    return send(res, 200, {});
  }
  send(res, 404, { error: 'unknown control' });
}

const collect = (handler) => (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try { handler(req, res, Buffer.concat(chunks).toString('utf8')); } catch (e) {
      console.error(e);
      send(res, 500, status(500, 'InternalError', String(e)));
    }
  });
};

const tls = { cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) };
if (args['client-ca']) Object.assign(tls, { ca: fs.readFileSync(args['client-ca']), requestCert: true, rejectUnauthorized: false });
const server = https.createServer(tls, collect(handle));
const controlServer = http.createServer(collect(control));
const publish = (file, port) => { fs.writeFileSync(file + '.tmp', String(port)); fs.renameSync(file + '.tmp', file); };
controlServer.listen(0, '127.0.0.1', () => {
  server.listen(0, '127.0.0.1', () => {
    publish(args['control-port-file'] || args['port-file'] + '.control', controlServer.address().port);
    publish(args['port-file'], server.address().port);
    console.error(`fake Kubernetes API server on https://127.0.0.1:${server.address().port}, control on ${controlServer.address().port}`);
  });
});
const shutdown = () => {
  for (const entry of pods.values()) killGroup(entry, 'SIGKILL');
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
