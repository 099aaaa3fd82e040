// Checks the fake API server with the official client, @kubernetes/client-node: its in-cluster config
// (loadFromCluster: service account token and CA), CoreV1Api calls, and its list/watch cache (an informer),
// including a watch the server closes and a compaction that expires the informer's resourceVersion. If the
// fake spoke our adapter's idea of the API rather than the real one, this client would fail against it.
//
//   node client_check.mjs PORT SERVICEACCOUNT_PREFIX CONTROL_PORT
import * as k8s from '@kubernetes/client-node';

const [port, prefix, controlPort] = process.argv.slice(2);
process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
process.env.KUBERNETES_SERVICE_PORT = port;
const kc = new k8s.KubeConfig();
kc.loadFromCluster(prefix);
const api = kc.makeApiClient(k8s.CoreV1Api);
const namespace = 'client-check';
const failures = [];
const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures.push(what); };
const control = (what, body) => fetch(`http://127.0.0.1:${controlPort}/_control/${what}`, { method: 'POST', body: JSON.stringify(body) });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(predicate, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) { if (predicate()) return check(true, what); await sleep(50); }
  check(false, what);
}
const pod = (name, extra = {}) => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, labels: { app: 'client-check' } },
  spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['/bin/sleep', '30'], ...extra }] },
});

const seen = new Map();
const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${namespace}/pods`,
  () => api.listNamespacedPod({ namespace, labelSelector: 'app=client-check' }), 'app=client-check');
informer.on('add', (p) => seen.set(p.metadata.name, p.status?.phase));
informer.on('update', (p) => seen.set(p.metadata.name, p.status?.phase));
informer.on('delete', (p) => seen.set(p.metadata.name, 'DELETED'));
informer.on('error', () => setTimeout(() => informer.start(), 200)); // as the client's docs advise
await informer.start();

const created = await api.createNamespacedPod({ namespace, body: pod('first'), fieldValidation: 'Strict' });
check(created.metadata.uid && created.metadata.resourceVersion, 'create answers the Pod with a uid and resourceVersion');
await until(() => seen.get('first') === 'Running', 'the informer sees the Pod become Running');

try {
  await api.createNamespacedPod({ namespace, body: pod('first'), fieldValidation: 'Strict' });
  check(false, 'a duplicate name is refused');
} catch (e) { check(e.code === 409, `a duplicate name is refused with 409 (got ${e.code})`); }
try {
  await api.createNamespacedPod({ namespace, body: pod('third', { resources: { requests: { cpu: '2 cores' } } }) });
  check(false, 'a bad quantity is refused');
} catch (e) { check(e.code === 422, `a bad quantity is refused with 422 Invalid (got ${e.code})`); }

// the server closes watches on its own, and compaction expires old resourceVersions: the informer lists again
await control('fault', { kind: 'compact' });
await control('fault', { kind: 'closeWatches' });
await api.createNamespacedPod({ namespace, body: pod('after-compaction') });
await until(() => seen.get('after-compaction') === 'Running', 'after a closed watch and a compaction the informer still follows');

await api.deleteNamespacedPod({ name: 'first', namespace, gracePeriodSeconds: 1 });
await until(() => seen.get('first') === 'DELETED', 'a graceful delete ends in a DELETED event');
await api.createNamespacedPod({ namespace, body: pod('second') });
const page = await api.listNamespacedPod({ namespace, limit: 1 });
const rest = await api.listNamespacedPod({ namespace, limit: 1, _continue: page.metadata._continue });
check(page.items.length === 1 && rest.items.length === 1 && page.items[0].metadata.name !== rest.items[0].metadata.name,
  'a limited list pages with continue');

await informer.stop();
for (const name of ['after-compaction', 'second']) await api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
console.log(failures.length ? `${failures.length} checks failed` : 'all checks passed');
process.exit(failures.length ? 1 : 0);
