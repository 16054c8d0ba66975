// What the deploy tests share: reading deploy/kubernetes as `kubectl apply -k` would
// (a base and overlays of strategic-merge patches), the field lists of the Kubernetes
// types kubernetes-models ships, and the facts about kamado its manifests must agree
// with (config keys, metric names), read from the sources so they cannot drift.
//
// Only the Kustomize features the manifests use are implemented, and any other field of
// a kustomization.yaml is an error: what the validator checks is what kubectl applies.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export const TEST_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(TEST_DIR, "../..");
const NODE_MODULES = path.join(TEST_DIR, "node_modules");

// ---------------------------------------------------------------------------
// YAML

// Every document of a YAML file; a syntax error is thrown naming the file and line.
export function loadYamlDocs(file) {
  return parseYamlDocs(fs.readFileSync(file, "utf8"), file);
}

// The same for `text`, named `file` in messages.
export function parseYamlDocs(text, file) {
  const docs = YAML.parseAllDocuments(text);
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0];
      const line = e.linePos?.[0]?.line ?? "?";
      throw new Error(`${file}:${line}: ${e.message.split("\n")[0]}`);
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function objectName(obj) {
  return `${obj?.kind ?? "?"}/${obj?.metadata?.name ?? "?"}`;
}

// ---------------------------------------------------------------------------
// Strategic merge, as kubectl and kustomize apply a patch file: maps merge key by key,
// a list whose items have a merge key (Kubernetes' patchMergeKey) merges item by item,
// any other list and every scalar is replaced. `$patch` directives are not supported.

// Merge key of a list field, by field name (and, for `ports`, by what the items hold:
// a container's ports merge on containerPort, a Service's on port).
const LIST_MERGE_KEYS = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  env: "name",
  imagePullSecrets: "name",
  topologySpreadConstraints: "topologyKey",
  tolerations: "key",
  hostAliases: "ip",
};

function listMergeKey(field, items) {
  if (field === "ports") {
    return items.some((i) => isPlainObject(i) && "containerPort" in i) ? "containerPort" : "port";
  }
  return LIST_MERGE_KEYS[field];
}

export function strategicMerge(base, patch, field = "") {
  if (isPlainObject(patch) && "$patch" in patch) {
    throw new Error(`'$patch' directives are not supported (at ${field || "the top"})`);
  }
  if (isPlainObject(base) && isPlainObject(patch)) {
    const out = { ...base };
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) delete out[k];  // null deletes the key, as in a merge patch
      else out[k] = k in base ? strategicMerge(base[k], v, k) : structuredClone(v);
    }
    return out;
  }
  if (Array.isArray(base) && Array.isArray(patch)) {
    const key = listMergeKey(field, [...base, ...patch]);
    if (!key) return structuredClone(patch);
    const out = base.map((i) => structuredClone(i));
    for (const item of patch) {
      const at = out.findIndex((b) => isPlainObject(b) && isPlainObject(item) && b[key] === item[key]);
      if (at >= 0) out[at] = strategicMerge(out[at], item, "");
      else out.push(structuredClone(item));
    }
    return out;
  }
  return structuredClone(patch);
}

// ---------------------------------------------------------------------------
// Kustomize, the part the manifests use.

const KUSTOMIZATION_FIELDS = new Set(["apiVersion", "kind", "resources", "patches", "replicas", "images"]);

// Builds the kustomization in `dir`. Returns {objects: [{obj, files}], files} where each
// object lists the files it came from (its resource, then each patch applied to it) and
// `files` every file the build read. Problems go to report(file, message).
export function buildKustomization(dir, report) {
  const kfile = path.join(dir, "kustomization.yaml");
  const files = [kfile];
  const objects = [];
  let k;
  try {
    [k] = loadYamlDocs(kfile);
  } catch (e) {
    report(kfile, e.message);
    return { objects, files };
  }
  if (!isPlainObject(k)) {
    report(kfile, "not a mapping");
    return { objects, files };
  }
  if (k.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k.kind !== "Kustomization") {
    report(kfile, "apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization");
  }
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_FIELDS.has(key)) {
      report(kfile, `field '${key}' is not one this validator applies (only ${[...KUSTOMIZATION_FIELDS].join(", ")})`);
    }
  }
  for (const res of k.resources ?? []) {
    const p = path.resolve(dir, res);
    if (!fs.existsSync(p)) {
      report(kfile, `resources: '${res}' does not exist`);
    } else if (fs.statSync(p).isDirectory()) {
      const sub = buildKustomization(p, report);
      objects.push(...sub.objects);
      files.push(...sub.files);
    } else {
      files.push(p);
      try {
        for (const obj of loadYamlDocs(p)) objects.push({ obj, files: [p] });
      } catch (e) {
        report(p, e.message);
      }
    }
  }
  for (const [i, entry] of (k.patches ?? []).entries()) {
    if (!isPlainObject(entry) || typeof entry.path !== "string" || Object.keys(entry).length !== 1) {
      report(kfile, `patches[${i}]: only {path: FILE} (a strategic-merge patch file) is supported`);
      continue;
    }
    const p = path.resolve(dir, entry.path);
    files.push(p);
    let docs;
    try {
      docs = loadYamlDocs(p);
    } catch (e) {
      report(p, e.message);
      continue;
    }
    for (const patch of docs) {
      const target = objects.find(
        (o) => o.obj.apiVersion === patch.apiVersion && o.obj.kind === patch.kind &&
               o.obj.metadata?.name === patch.metadata?.name);
      if (!target) {
        report(p, `${objectName(patch)} (${patch.apiVersion}): no such object in the resources to patch`);
        continue;
      }
      try {
        target.obj = strategicMerge(target.obj, patch);
        target.files = [...target.files, p];
      } catch (e) {
        report(p, `${objectName(patch)}: ${e.message}`);
      }
    }
  }
  for (const [i, r] of (k.replicas ?? []).entries()) {
    const target = objects.find((o) => o.obj.metadata?.name === r?.name &&
                                       ["Deployment", "StatefulSet", "ReplicaSet"].includes(o.obj.kind));
    if (!target || !Number.isInteger(r.count)) {
      report(kfile, `replicas[${i}]: needs the name of a Deployment and an integer count`);
      continue;
    }
    target.obj = strategicMerge(target.obj, { spec: { replicas: r.count } });
    target.files = [...target.files, kfile];
  }
  for (const [i, img] of (k.images ?? []).entries()) {
    if (!isPlainObject(img) || typeof img.name !== "string") {
      report(kfile, `images[${i}]: needs a name`);
      continue;
    }
    for (const o of objects) {
      for (const c of o.obj.spec?.template?.spec?.containers ?? []) {
        const m = /^(.*?)(?::([^:/]+))?(?:@(.+))?$/.exec(c.image ?? "");
        if (!m || m[1] !== img.name) continue;
        const name = img.newName ?? m[1];
        c.image = img.digest ? `${name}@${img.digest}` : `${name}:${img.newTag ?? m[2] ?? "latest"}`;
        if (!o.files.includes(kfile)) o.files = [...o.files, kfile];
      }
    }
  }
  return { objects, files };
}

// ---------------------------------------------------------------------------
// Field lists of the Kubernetes types, from the TypeScript declarations kubernetes-models
// ships (its validators check types and required fields but accept any unknown field).
// A type is {object: {members, name}} | {array: T} | {map: T} | {leaf: true}.

export class TypeIndex {
  constructor() {
    this.files = new Map();  // .d.ts path → {imports, interfaces, aliases, exports}
  }

  // The type of the model class `kind` in kubernetes-models/<apiVersion>/<kind>.d.ts
  // ("v1" for the core group), or null when kubernetes-models has none.
  typeOfKind(apiVersion, kind) {
    const file = path.join(NODE_MODULES, "kubernetes-models", apiVersion, `${kind}.d.ts`);
    if (!fs.existsSync(file)) return null;
    return this.#named(file, `I${kind}`);
  }

  #parse(file) {
    if (this.files.has(file)) return this.files.get(file);
    const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    const info = { imports: new Map(), interfaces: new Map(), aliases: new Map(), exports: new Map() };
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
      const target = m[2].startsWith(".") ? path.resolve(path.dirname(file), m[2]) : path.join(NODE_MODULES, m[2]);
      for (const spec of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
        const [orig, local] = spec.split(/\s+as\s+/);
        info.imports.set((local ?? orig).trim(), { file: `${target}.d.ts`, name: orig.trim() });
      }
    }
    for (const m of text.matchAll(/export\s*\{([^}]*)\}/g)) {
      for (const spec of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
        const [orig, alias] = spec.split(/\s+as\s+/);
        info.exports.set((alias ?? orig).trim(), orig.trim());
      }
    }
    for (const m of text.matchAll(/export\s+interface\s+(\w+)(?:\s+extends\s+([\w\s,]+?))?\s*\{/g)) {
      const body = balanced(text, m.index + m[0].length - 1);
      info.interfaces.set(m[1], { body, extends: (m[2] ?? "").split(",").map((s) => s.trim()).filter(Boolean) });
    }
    for (const m of text.matchAll(/export\s+(?:declare\s+)?type\s+(\w+)\s*=\s*([^;]+);/g)) {
      info.aliases.set(m[1], m[2].trim());
    }
    this.files.set(file, info);
    return info;
  }

  // The type named `name` as file `file` exports it.
  #named(file, name) {
    const key = `${file}#${name}`;
    this.cache ??= new Map();
    if (this.cache.has(key)) return this.cache.get(key);
    const info = this.#parse(file);
    const local = info.exports.get(name) ?? name;
    let type = { leaf: true };
    if (info.interfaces.has(local)) {
      type = { object: { name: local, members: new Map() } };
      this.cache.set(key, type);  // before the members: types refer to themselves (JSONSchemaProps)
      const itf = info.interfaces.get(local);
      for (const base of itf.extends) {
        if (base === "TypeMeta") continue;  // apiVersion and kind, declared again in the body
        const t = this.#ref(file, base);
        if (t.object) for (const [k, v] of t.object.members) type.object.members.set(k, v);
      }
      for (const member of splitMembers(itf.body)) {
        const m = /^"?([\w$.-]+)"?\??\s*:\s*([\s\S]+)$/.exec(member);
        if (m) type.object.members.set(m[1], { get: () => this.#type(file, m[2]) });
      }
      return type;
    }
    if (info.aliases.has(local)) type = this.#type(file, info.aliases.get(local));
    else if (info.imports.has(local)) type = this.#ref(file, local);
    this.cache.set(key, type);
    return type;
  }

  #ref(file, ident) {
    const info = this.#parse(file);
    if (info.imports.has(ident)) {
      const imp = info.imports.get(ident);
      return fs.existsSync(imp.file) ? this.#named(imp.file, imp.name) : { leaf: true };
    }
    if (info.interfaces.has(ident) || info.aliases.has(ident)) return this.#named(file, ident);
    return { leaf: true };
  }

  #type(file, text) {
    text = text.trim();
    let m;
    if ((m = /^Array<([\s\S]+)>$/.exec(text))) return { array: this.#type(file, m[1]) };
    if ((m = /^\{\s*\[\w+:\s*string\]:\s*([\s\S]+?);?\s*\}$/.exec(text))) return { map: this.#type(file, m[1]) };
    const refs = text.split("|").map((s) => s.trim()).filter((s) => /^[A-Za-z_]\w*$/.test(s) &&
      !["string", "number", "boolean", "any", "unknown", "object", "null", "undefined"].includes(s));
    return refs.length === 1 ? this.#ref(file, refs[0]) : { leaf: true };
  }
}

function balanced(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

function splitMembers(body) {
  const out = [];
  let depth = 0;
  let cur = "";
  for (const ch of body) {
    if (ch === "{" || ch === "<" || ch === "(") depth++;
    if (ch === "}" || ch === ">" || ch === ")") depth--;
    if (ch === ";" && depth === 0) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
    } else {
      cur += ch;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

// Calls report(fieldPath, name, known) for each field of `value` its type does not have.
export function findUnknownFields(value, type, report, at = "") {
  if (type.object && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const member = type.object.members.get(k);
      const here = at ? `${at}.${k}` : k;
      if (!member) report(here, k, [...type.object.members.keys()]);
      else findUnknownFields(v, member.get(), report, here);
    }
  } else if (type.array && Array.isArray(value)) {
    value.forEach((v, i) => findUnknownFields(v, type.array, report, `${at}[${i}]`));
  } else if (type.map && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) findUnknownFields(v, type.map, report, `${at}.${k}`);
  }
}

// The known name closest to `name` (edit distance ≤ 3), for "did you mean".
export function closest(name, known) {
  let best = null;
  let bestD = 4;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function editDistance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return row[b.length];
}

// ---------------------------------------------------------------------------
// Quantities: "2", 2, "2000m" → 2; "1Gi" → 1073741824. NaN when unparsable.

const SUFFIX = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

export function parseQuantity(q) {
  if (typeof q === "number") return q;
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q ?? ""));
  return m ? Number(m[1]) * SUFFIX[m[2] ?? ""] : NaN;
}

// ---------------------------------------------------------------------------
// kamado, from its sources.

// The keys `kamado serve --config` accepts (src/serving/serve_config.cc, Keys()).
export function serveConfigKeys() {
  const src = fs.readFileSync(path.join(REPO_ROOT, "src/serving/serve_config.cc"), "utf8");
  const keys = [...src.matchAll(/(?:Key\{|KAMADO_INT_KEY\()"(\w+)"/g)].map((m) => m[1]);
  if (keys.length < 10) throw new Error("src/serving/serve_config.cc: could not read the config keys");
  return new Set(keys);
}

// The metric families kamado's /metrics has (src/serving/metrics.cc, "# TYPE name kind").
export function kamadoMetricNames() {
  const src = fs.readFileSync(path.join(REPO_ROOT, "src/serving/metrics.cc"), "utf8");
  return new Set([...src.matchAll(/# TYPE (\w+) /g)].map((m) => m[1]));
}

// The routes whose GET answers 200 on a healthy server (docs/HTTP_API.md "Endpoints").
export const KAMADO_GET_ROUTES = ["/v2", "/v2/health/live", "/v2/health/ready", "/metrics"];

// ---------------------------------------------------------------------------
// prometheus-adapter rules: the metric names each rule gives the custom-metrics API and
// the series and labels its queries use.

export function adapterRules(configMap) {
  const text = configMap?.data?.["config.yaml"];
  if (typeof text !== "string") throw new Error("data.config.yaml is missing");
  const config = YAML.parse(text);
  if (!Array.isArray(config?.rules)) throw new Error("data.config.yaml has no `rules:` list");
  return config.rules.map((rule, i) => {
    const sq = /^\s*([a-zA-Z_:][\w:]*)\s*(?:\{([^}]*)\})?\s*$/.exec(rule?.seriesQuery ?? "");
    if (!sq) throw new Error(`rules[${i}].seriesQuery: expected METRIC{LABEL MATCHERS}, got '${rule?.seriesQuery}'`);
    const series = sq[1];
    const labels = [...(sq[2] ?? "").matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
    // prometheus-adapter: `as` defaults to $1 with one capture group, else $0.
    const re = new RegExp(rule.name?.matches ?? ".*");
    const match = re.exec(series);
    if (!match) throw new Error(`rules[${i}].name.matches '${re.source}' does not match '${series}'`);
    const as = rule.name?.as || (match.length === 2 ? "$1" : "$0");
    const name = as.replace(/\$\{?(\d+)\}?/g, (_, n) => match[Number(n)] ?? "");
    const overrides = rule.resources?.overrides ?? {};
    const resourceLabels = Object.keys(overrides);
    const mq = rule.metricsQuery ?? "";
    return { index: i, series, labels, name, resourceLabels, overrides, metricsQuery: mq };
  });
}
