// The fields a Kubernetes object may carry, from the official client's field lists (@kubernetes/client-node's
// attributeTypeMap): what a server refuses under fieldValidation=Strict, and drops otherwise.
import * as k8s from '@kubernetes/client-node';

// Walks `value` as the client's `type` (e.g. 'V1Pod') and calls visit(path, holder, key) for each unknown field.
function walk(type, value, at, visit) {
  let m;
  if (value === null || value === undefined || typeof value !== 'object') return;
  if ((m = /^Array<(.+)>$/.exec(type))) { if (Array.isArray(value)) value.forEach((v, i) => walk(m[1], v, `${at}[${i}]`, visit)); return; }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) { for (const [k, v] of Object.entries(value)) walk(m[1], v, `${at}.${k}`, visit); return; }
  const model = k8s[type];
  if (!model?.getAttributeTypeMap || Array.isArray(value)) return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    const where = at ? `${at}.${k}` : k;
    if (!fields.has(k)) visit(where, value, k); else walk(fields.get(k), v, where, visit);
  }
}

export function unknownFields(type, value) {
  const out = [];
  walk(type, value, '', (where) => out.push(where));
  return out;
}

export function dropUnknownFields(type, value) {
  walk(type, value, '', (where, holder, key) => delete holder[key]);
}
