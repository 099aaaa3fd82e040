// An ECS-compatible endpoint for the ECS adapter's tests. ECS cannot run here, so this checks what ECS
// checks: every request's SigV4 signature is recomputed with AWS's own signer (@smithy/signature-v4) and
// compared, along with the credential scope (date, region, service), the clock skew, the access key and the
// session token. RunTask / StopTask / DescribeTasks / ListTasks use ECS's field names, limits and error
// shapes, and each task's container command override runs as a real local process.
//
//   node server.mjs --port-file F --access-key K --secret S --region R [--session-token T] [--cluster C]
//                   [--task-definition TD] [--container-name N] [--stop-timeout-ms MS] [--log-dir D]
//
// Test controls (no signature): POST /_control/throttle {"count": N} answers the next N calls with
// ThrottlingException; POST /_control/crash {"group": G} kills the task of worker group G like a crashed
// container; GET /_control/state lists tasks and counters.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

import { createRequire } from 'node:module';
import { SignatureV4 } from '@smithy/signature-v4';

// AWS's own ECS service model (from the aws-sdk package): every request is checked against its input shape,
// member names and case, types, required members and list bounds, as AWS's SDKs and endpoint would.
const model = createRequire(import.meta.url)('aws-sdk/apis/ecs-2014-11-13.min.json');

function resolveShape(ref) {
  const named = ref.shape ? model.shapes[ref.shape] : {};
  return { ...named, ...ref, type: ref.type || named.type || 'string' };
}

function checkShape(ref, value, where) {
  const shape = resolveShape(ref);
  const fail = (what) => { throw clientError('SerializationException', `${where}: ${what}`); };
  switch (shape.type) {
    case 'structure': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('expected an object');
      for (const key of Object.keys(value)) {
        if (!shape.members[key]) fail(`unknown member '${key}' (the model's members: ${Object.keys(shape.members).join(', ')})`);
        checkShape(shape.members[key], value[key], `${where}.${key}`);
      }
      for (const key of shape.required || []) {
        if (value[key] === undefined) throw clientError('InvalidParameterException', `${where}: missing required member '${key}'`);
      }
      return;
    }
    case 'list':
      if (!Array.isArray(value)) fail('expected a list');
      if (shape.max !== undefined && value.length > shape.max) fail(`at most ${shape.max} items`);
      if (shape.min !== undefined && value.length < shape.min) fail(`at least ${shape.min} items`);
      value.forEach((item, i) => checkShape(shape.member, item, `${where}[${i}]`));
      return;
    case 'map':
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('expected a map');
      for (const [key, item] of Object.entries(value)) checkShape(shape.value, item, `${where}.${key}`);
      return;
    case 'integer':
    case 'long':
      if (!Number.isInteger(value)) fail(`expected an integer, got ${JSON.stringify(value)}`);
      return;
    case 'float':
    case 'double':
      if (typeof value !== 'number') fail(`expected a number, got ${JSON.stringify(value)}`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') fail(`expected true or false, got ${JSON.stringify(value)}`);
      return;
    case 'timestamp':
      if (typeof value !== 'number' && typeof value !== 'string') fail('expected a timestamp');
      return;
    default:  // string, blob
      if (typeof value !== 'string') fail(`expected a string, got ${JSON.stringify(value)}`);
  }
}

// The signer's hash interface over Node's own crypto (no extra package: the AWS crypto packages want Node 20,
// Debian 12 ships 18).
class Sha256 {
  constructor(secret) {
    this.hash = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256');
  }
  update(data) {
    this.hash.update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }
  async digest() {
    return new Uint8Array(this.hash.digest());
  }
}

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const config = {
  accessKey: args['access-key'],
  secret: args['secret'],
  sessionToken: args['session-token'] || '',
  region: args['region'] || 'us-east-1',
  cluster: args['cluster'] || 'scaler-cluster',
  taskDefinition: args['task-definition'] || 'scaler-task-definition',
  containerName: args['container-name'] || 'scaler-container',
  stopTimeoutMs: Number(args['stop-timeout-ms'] || 30000),
  logDir: args['log-dir'] || '.',
  account: '123456789012',
};
if (!config.accessKey || !config.secret || !args['port-file']) {
  console.error('usage: server.mjs --port-file F --access-key K --secret S [--region R] ...');
  process.exit(2);
}

const tasks = new Map(); // arn -> task
const counters = { requests: 0, rejectedSignatures: 0, throttled: 0, runTaskCalls: 0, stopTaskCalls: 0 };
let throttleNext = 0;
// what AWS does under stress, on request (/_control/...): RunTask failures[], 5xx, short pages, and a new task
// DescribeTasks does not know yet (eventual consistency)
let capacityFailures = 0;
let serverErrors = 0;
let pageSize = 100;
let missingForMs = 0;

class AwsError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}
const clientError = (type, message) => new AwsError(400, type, message);
const signatureError = (message) => new AwsError(403, 'InvalidSignatureException', message);

// ---- SigV4 -------------------------------------------------------------------------------------------
const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

function amzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text || '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

async function verifySignature(req, body) {
  const auth = req.headers['authorization'];
  if (!auth) throw new AwsError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = AUTH.exec(auth);
  if (!m) throw new AwsError(403, 'IncompleteSignatureException', `Authorization header requires Credential, SignedHeaders and Signature: ${auth.slice(0, 40)}`);
  const [, accessKey, scopeDate, region, service, signedHeaderList, signature] = m;
  if (accessKey !== config.accessKey) throw new AwsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (service !== 'ecs') throw signatureError(`Credential should be scoped to correct service: 'ecs'.`);
  if (region !== config.region) throw signatureError(`Credential should be scoped to a valid region, not '${region}'.`);
  const date = amzDate(req.headers['x-amz-date']);
  if (!date) throw signatureError('Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.');
  if (Math.abs(Date.now() - date.getTime()) > 5 * 60 * 1000) throw signatureError('Signature expired: the request time is more than 5 minutes from the server time.');
  if (req.headers['x-amz-date'].slice(0, 8) !== scopeDate) throw signatureError(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${req.headers['x-amz-date'].slice(0, 8)}'`);
  const signedHeaders = signedHeaderList.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-target', 'content-type']) {
    if (!signedHeaders.includes(required)) throw signatureError(`'${required}' must be a signed header.`);
  }
  const token = req.headers['x-amz-security-token'];
  if (config.sessionToken && token !== config.sessionToken) throw new AwsError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
  if (token !== undefined && !signedHeaders.includes('x-amz-security-token')) throw signatureError(`'x-amz-security-token' must be a signed header.`);

  const headers = {};
  for (const name of signedHeaders) {
    if (req.headers[name] === undefined) throw signatureError(`Signed header '${name}' is missing from the request.`);
    headers[name] = req.headers[name];
  }
  const [hostname, port] = req.headers['host'].split(':');
  const signer = new SignatureV4({
    credentials: { accessKeyId: config.accessKey, secretAccessKey: config.secret, ...(token ? { sessionToken: token } : {}) },
    region: config.region,
    service: 'ecs',
    sha256: Sha256,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    { method: req.method, protocol: 'http:', hostname, port: port ? Number(port) : undefined, path: req.url.split('?')[0], query: {}, headers, body },
    { signingDate: date, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers['authorization'])[1];
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw signatureError('The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.');
  }
}

// ---- tasks -------------------------------------------------------------------------------------------
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const STARTED_BY = /^[A-Za-z0-9_/-]{1,128}$/;

function descendants(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  const out = [];
  const walk = (p) => { for (const c of children.get(p) || []) { out.push(c); walk(c); } };
  walk(pid);
  return out;
}

function killTree(task, signal) {
  if (!task.process || task.exited) return;
  for (const pid of [task.process.pid, ...descendants(task.process.pid)]) {
    try { process.kill(pid, signal); } catch { /* gone */ }
  }
}

function publicTask(task, includeTags) {
  const out = {
    taskArn: task.taskArn, clusterArn: task.clusterArn, taskDefinitionArn: task.taskDefinitionArn,
    lastStatus: task.lastStatus, desiredStatus: task.desiredStatus, launchType: task.launchType,
    startedBy: task.startedBy, group: task.group, createdAt: task.createdAt, overrides: task.overrides,
    containers: [{ name: config.containerName, lastStatus: task.lastStatus, ...(task.exitCode !== undefined ? { exitCode: task.exitCode } : {}) }],
  };
  if (task.stopCode) out.stopCode = task.stopCode;
  if (task.stoppedReason) out.stoppedReason = task.stoppedReason;
  if (includeTags) out.tags = task.tags;
  return out;
}

function checkCluster(cluster) {
  const name = (cluster || 'default').split('/').pop();
  if (name !== config.cluster) throw clientError('ClusterNotFoundException', 'Cluster not found.');
}

function findTask(ref) {
  for (const task of tasks.values()) if (task.taskArn === ref || task.taskArn.endsWith('/' + ref)) return task;
  return null;
}

function runTask(req) {
  counters.runTaskCalls++;
  checkCluster(req.cluster);
  if (!req.taskDefinition) throw clientError('InvalidParameterException', 'taskDefinition is required.');
  const family = req.taskDefinition.split('/').pop().split(':')[0];
  if (family !== config.taskDefinition) throw clientError('ClientException', 'TaskDefinition not found.');
  const count = req.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 10) throw clientError('InvalidParameterException', 'count must be between 1 and 10.');
  if (req.launchType !== undefined && req.capacityProviderStrategy !== undefined) throw clientError('InvalidParameterException', 'Specifying both a launch type and capacity provider strategy is not supported.');
  if (req.clientToken !== undefined && !/^[\x21-\x7e]{1,64}$/.test(req.clientToken)) throw clientError('InvalidParameterException', 'clientToken: up to 64 ASCII characters.');
  const launchType = req.launchType || 'EC2';
  if (!['FARGATE', 'EC2', 'EXTERNAL'].includes(launchType)) throw clientError('InvalidParameterException', `Invalid launch type: ${launchType}`);
  const vpc = req.networkConfiguration?.awsvpcConfiguration;
  if (launchType === 'FARGATE' && !(vpc?.subnets?.length)) throw clientError('InvalidParameterException', "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  if ((vpc?.subnets?.length ?? 0) > 16) throw clientError('InvalidParameterException', 'subnets can have at most 16 items.');
  if ((vpc?.securityGroups?.length ?? 0) > 5) throw clientError('InvalidParameterException', 'securityGroups can have at most 5 items.');
  if (vpc?.assignPublicIp && !['ENABLED', 'DISABLED'].includes(vpc.assignPublicIp)) throw clientError('InvalidParameterException', 'assignPublicIp must be ENABLED or DISABLED.');
  if (vpc?.assignPublicIp !== undefined && launchType !== 'FARGATE') throw clientError('InvalidParameterException', 'Assign public IP is not supported for this launch type.');
  if (req.networkConfiguration !== undefined && launchType === 'EXTERNAL') throw clientError('InvalidParameterException', 'Network Configuration is not supported for the EXTERNAL launch type.');
  if (req.overrides !== undefined && JSON.stringify(req.overrides).length > 8192) throw clientError('InvalidParameterException', 'Container Overrides length must be at most 8192');
  if (req.startedBy !== undefined && !STARTED_BY.test(req.startedBy)) throw clientError('InvalidParameterException', 'startedBy: up to 128 letters (uppercase and lowercase), numbers, hyphens, forward slashes, and underscores are allowed.');
  // RunTask takes TASK_DEFINITION or NONE: SERVICE is for services ("An error will be received if you specify
  // the SERVICE option when running a task.")
  if (req.propagateTags !== undefined && !['TASK_DEFINITION', 'NONE'].includes(req.propagateTags)) throw clientError('InvalidParameterException', `propagateTags: ${req.propagateTags} is not valid when running a task; use TASK_DEFINITION or NONE.`);
  if ((req.tags || []).length > 50) throw clientError('InvalidParameterException', 'Tags can have at most 50 items.');
  const tagKeys = (req.tags || []).map((t) => t.key);
  const duplicate = tagKeys.find((k, i) => tagKeys.indexOf(k) !== i);
  if (duplicate !== undefined) throw clientError('InvalidParameterException', `Tag keys must be unique; '${duplicate}' is given twice.`);
  for (const tag of req.tags || []) {
    if (/^aws:/i.test(tag.key || '')) throw clientError('InvalidParameterException', `Tag keys cannot start with 'aws:': ${tag.key}`);
    if (!tag.key || tag.key.length > 128 || !TAG_TEXT.test(tag.key) || (tag.value ?? '').length > 256 || !TAG_TEXT.test(tag.value ?? '')) {
      throw clientError('InvalidParameterException', `The tag '${tag.key}' has an invalid key or value.`);
    }
  }
  const overrides = req.overrides?.containerOverrides || [];
  for (const o of overrides) {
    if (o.name !== config.containerName) throw clientError('InvalidParameterException', `Override for container named ${o.name} is not a container in the TaskDefinition.`);
  }
  const override = overrides[0];
  if (!override?.command?.length) throw clientError('InvalidParameterException', 'this endpoint runs the container command override; none was given.');
  if (req.clientToken) {
    const earlier = [...tasks.values()].filter((t) => t.clientToken === req.clientToken);
    if (earlier.length) return { tasks: earlier.map((t) => publicTask(t, false)), failures: [] };
  }
  if (capacityFailures > 0) {
    capacityFailures--;
    return { tasks: [], failures: [{ arn: `arn:aws:ecs:${config.region}:${config.account}:container-instance/none`, reason: 'RESOURCE:MEMORY', detail: 'no container instance has enough memory' }] };
  }
  const started = [];
  for (let i = 0; i < count; i++) {
    const id = crypto.randomBytes(16).toString('hex');
    const task = {
      taskArn: `arn:aws:ecs:${config.region}:${config.account}:task/${config.cluster}/${id}`,
      clusterArn: `arn:aws:ecs:${config.region}:${config.account}:cluster/${config.cluster}`,
      taskDefinitionArn: `arn:aws:ecs:${config.region}:${config.account}:task-definition/${config.taskDefinition}:1`,
      lastStatus: 'PROVISIONING', desiredStatus: 'RUNNING', launchType, startedBy: req.startedBy,
      group: `family:${config.taskDefinition}`, createdAt: Date.now() / 1000, startedMs: Date.now(), overrides: req.overrides,
      tags: req.tags || [], clientToken: req.clientToken,
    };
    tasks.set(task.taskArn, task);
    const env = { ...process.env };
    for (const e of override.environment || []) env[e.name] = e.value;
    const log = fs.openSync(path.join(config.logDir, `task-${id}.log`), 'a');
    task.process = spawn(override.command[0], override.command.slice(1), { env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    task.process.on('spawn', () => { if (task.lastStatus === 'PROVISIONING') task.lastStatus = 'RUNNING'; });
    task.process.on('error', (e) => {
      task.exited = true;
      Object.assign(task, { lastStatus: 'STOPPED', desiredStatus: 'STOPPED', stopCode: 'TaskFailedToStart', stoppedReason: `CannotStartContainerError: ${e.message}` });
    });
    task.process.on('exit', (code, signal) => {
      task.exited = true;
      clearTimeout(task.killTimer);
      task.exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      task.lastStatus = 'STOPPED';
      if (task.desiredStatus !== 'STOPPED') {
        Object.assign(task, { desiredStatus: 'STOPPED', stopCode: 'EssentialContainerExited', stoppedReason: 'Essential container in task exited' });
      }
    });
    started.push(task);
  }
  return { tasks: started.map((t) => publicTask(t, false)), failures: [] };
}

function stopTask(req) {
  counters.stopTaskCalls++;
  checkCluster(req.cluster);
  if ((req.reason || '').length > 255) throw clientError('InvalidParameterException', 'reason must be at most 255 characters.');
  const task = findTask(req.task || '');
  if (!task) throw clientError('InvalidParameterException', 'The referenced task was not found.');
  if (task.desiredStatus !== 'STOPPED') {
    Object.assign(task, { desiredStatus: 'STOPPED', stopCode: 'UserInitiated', stoppedReason: req.reason || 'Task stopped by user' });
    if (!task.exited) {
      task.lastStatus = 'DEACTIVATING';
      killTree(task, 'SIGTERM'); // ECS sends SIGTERM to the container's PID 1 ...
      task.killTimer = setTimeout(() => killTree(task, 'SIGKILL'), config.stopTimeoutMs); // ... and SIGKILL after stopTimeout
    }
  }
  return { task: publicTask(task, false) };
}

function describeTasks(req) {
  checkCluster(req.cluster);
  if (!Array.isArray(req.tasks) || req.tasks.length === 0) throw clientError('InvalidParameterException', 'Tasks cannot be empty.');
  if (req.tasks.length > 100) throw clientError('InvalidParameterException', 'Tasks cannot have more than 100 elements.');
  for (const field of req.include || []) {
    if (field !== 'TAGS') throw clientError('InvalidParameterException', `include: '${field}' is not TAGS.`);
  }
  const includeTags = (req.include || []).includes('TAGS');
  const out = { tasks: [], failures: [] };
  for (const ref of req.tasks) {
    const task = findTask(ref);
    const tooNew = task && missingForMs > 0 && Date.now() - task.startedMs < missingForMs;
    if (task && !tooNew) out.tasks.push(publicTask(task, includeTags));
    else out.failures.push({ arn: ref, reason: 'MISSING' });
  }
  return out;
}

function listTasks(req) {
  checkCluster(req.cluster);
  const asked = req.maxResults ?? 100;
  if (asked < 1 || asked > 100) throw clientError('InvalidParameterException', 'maxResults must be between 1 and 100.');
  const maxResults = Math.min(asked, pageSize);  // AWS may answer with fewer than asked
  // the model: "When you specify startedBy as the filter, it must be the only filter that you use."
  const otherFilters = ['containerInstance', 'family', 'serviceName', 'desiredStatus', 'launchType'].filter((k) => req[k] !== undefined);
  if (req.startedBy !== undefined && otherFilters.length) throw clientError('InvalidParameterException', `startedBy must be the only filter; also given: ${otherFilters.join(', ')}`);
  if (req.desiredStatus !== undefined && !['RUNNING', 'PENDING', 'STOPPED'].includes(req.desiredStatus)) throw clientError('InvalidParameterException', `Invalid desiredStatus: ${req.desiredStatus}`);
  const desired = req.desiredStatus || 'RUNNING';
  const matching = [...tasks.values()].filter((t) => (!req.startedBy || t.startedBy === req.startedBy) &&
    (desired === 'STOPPED' ? t.desiredStatus === 'STOPPED' : t.desiredStatus === 'RUNNING'));
  const start = req.nextToken ? Number(Buffer.from(req.nextToken, 'base64').toString()) : 0;
  // only tokens this endpoint gave out are valid, as on AWS
  if (req.nextToken !== undefined && (!Number.isInteger(start) || start <= 0 || start > matching.length ||
      Buffer.from(String(start)).toString('base64') !== req.nextToken)) {
    throw clientError('InvalidParameterException', 'Invalid nextToken.');
  }
  const page = matching.slice(start, start + maxResults).map((t) => t.taskArn);
  const out = { taskArns: page };
  if (start + maxResults < matching.length) out.nextToken = Buffer.from(String(start + maxResults)).toString('base64');
  return out;
}

const operations = { RunTask: runTask, StopTask: stopTask, DescribeTasks: describeTasks, ListTasks: listTasks };

// ---- HTTP --------------------------------------------------------------------------------------------
function send(res, status, object, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'x-amzn-RequestId': crypto.randomUUID(), ...headers });
  res.end(JSON.stringify(object));
}

async function handle(req, res, body) {
  if (req.url.startsWith('/_control/')) {
    const input = body ? JSON.parse(body) : {};
    if (req.url === '/_control/throttle') { throttleNext = input.count; return send(res, 200, {}); }
    if (req.url === '/_control/capacity_failures') { capacityFailures = input.count; return send(res, 200, {}); }
    if (req.url === '/_control/server_errors') { serverErrors = input.count; return send(res, 200, {}); }
    if (req.url === '/_control/page_size') { pageSize = input.size; return send(res, 200, {}); }
    if (req.url === '/_control/missing_ms') { missingForMs = input.ms; return send(res, 200, {}); }
    if (req.url === '/_control/crash') {
      const task = [...tasks.values()].find((t) => !t.exited && t.tags.some((g) => g.key === 'scaler:worker-group-id' && g.value === input.group));
      if (!task) return send(res, 404, { message: `no running task of group ${input.group}` });
      killTree(task, 'SIGKILL');
      return send(res, 200, { taskArn: task.taskArn });
    }
    if (req.url === '/_control/state') {
      return send(res, 200, { ...counters, tasks: [...tasks.values()].map((t) => publicTask(t, true)) });
    }
    return send(res, 404, { message: 'unknown control' });
  }
  counters.requests++;
  try {
    if (req.method !== 'POST' || req.url !== '/') throw clientError('UnknownOperationException', `${req.method} ${req.url}`);
    await verifySignature(req, body);
    const target = req.headers['x-amz-target'] || '';
    const prefix = 'AmazonEC2ContainerServiceV20141113.';
    if (!target.startsWith(prefix) || !operations[target.slice(prefix.length)]) throw clientError('UnknownOperationException', `Unknown operation ${target}`);
    if (!(req.headers['content-type'] || '').startsWith('application/x-amz-json-1.1')) throw clientError('SerializationException', 'Content-Type must be application/x-amz-json-1.1');
    if (throttleNext > 0) { throttleNext--; counters.throttled++; throw clientError('ThrottlingException', 'Rate exceeded'); }
    if (serverErrors > 0) { serverErrors--; counters.serverErrors = (counters.serverErrors || 0) + 1; throw new AwsError(500, 'ServerException', 'Service Unavailable'); }
    let input;
    try { input = JSON.parse(body || '{}'); } catch { throw clientError('SerializationException', 'Malformed JSON'); }
    const operation = target.slice(prefix.length);
    checkShape(model.operations[operation].input, input, operation);
    send(res, 200, operations[operation](input));
  } catch (e) {
    if (!(e instanceof AwsError)) { console.error(e); e = new AwsError(500, 'ServerException', String(e)); }
    if (e.status === 403) counters.rejectedSignatures++;
    console.error(`${new Date().toISOString()} ${req.headers['x-amz-target'] || req.url}: ${e.status} ${e.type}: ${e.message}`);
    send(res, e.status, { __type: `com.amazonaws.ecs#${e.type}`, message: e.message }, { 'x-amzn-ErrorType': e.type });
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(args['port-file'] + '.tmp', String(server.address().port));
  fs.renameSync(args['port-file'] + '.tmp', args['port-file']);
  console.error(`fake ECS on http://127.0.0.1:${server.address().port} (region ${config.region}, cluster ${config.cluster})`);
});
const shutdown = () => {
  for (const task of tasks.values()) killTree(task, 'SIGKILL');
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
