// Validates deploy/kubernetes offline: the base and every overlay are built as
// `kubectl apply -k` would (manifests.mjs), each object is validated by kubernetes-models
// (types, required fields, formats), and then checked for what that misses:
//   - fields the Kubernetes type does not have (kubernetes-models accepts any unknown
//     field; its TypeScript declarations list the real ones),
//   - selectors and labels that agree (Deployment, Service, PDB, topology spread, HPA),
//   - probes on the container port that serve.yaml's `port` listens on, at paths kamado
//     serves,
//   - Guaranteed QoS: integer CPUs, requests = limits,
//   - terminationGracePeriodSeconds longer than preStop + drain_delay_s + drain_timeout,
//   - an HPA custom metric that the prometheus-adapter rules produce from a kamado series.
//
//   node tests/deploy/validate_manifests.mjs [--root DIR]   (default: deploy/kubernetes)
//
// Prints one line per failure naming the file, object and field; exits 1 on any, 0 when
// all pass, 77 (skipped) when tests/deploy/node_modules is missing, unless
// KAMADO_REQUIRE_TEST_DATA=1, which makes that a failure.
import fs from "node:fs";
import path from "node:path";

let lib;
try {
  lib = await import("./manifests.mjs");
  await import("kubernetes-models/v1/ConfigMap");
} catch (e) {
  const required = process.env.KAMADO_REQUIRE_TEST_DATA === "1";
  console.error(`validate_manifests: ${required ? "FAIL" : "SKIP"}: cannot load tests/deploy/node_modules ` +
                `(${e.code ?? e.message}); run scripts/prepare-test-data.sh (npm ci in tests/deploy)`);
  process.exit(required ? 1 : 77);
}
const { buildKustomization, loadYamlDocs, parseYamlDocs, TypeIndex, findUnknownFields, closest, parseQuantity, isPlainObject,
        objectName, serveConfigKeys, kamadoMetricNames, adapterRules, KAMADO_GET_ROUTES, REPO_ROOT } = lib;

const args = process.argv.slice(2);
const root = path.resolve(args[0] === "--root" && args[1] ? args[1] : path.join(REPO_ROOT, "deploy/kubernetes"));
const rel = (f) => path.relative(process.cwd(), f) || f;

const failures = [];
function fail(files, obj, field, message) {
  const where = (Array.isArray(files) ? files : [files]).map(rel).join(" + ");
  const what = obj ? ` ${objectName(obj)}` : "";
  failures.push(`FAIL ${where}:${what}${field ? ` ${field}:` : ""} ${message}`);
}

const types = new TypeIndex();
const SERVE_KEYS = serveConfigKeys();
const KAMADO_METRICS = kamadoMetricNames();
const DEFAULTS = { drain_delay_s: 5, drain_timeout_ms: 30000 };  // src/serving/serve_config.h

// kubernetes-models' own validation, then the unknown-field walk.
async function validateModel(entry) {
  const { obj, files } = entry;
  if (!isPlainObject(obj) || typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    fail(files, null, "", "not a Kubernetes object (apiVersion and kind)");
    return;
  }
  const type = types.typeOfKind(obj.apiVersion, obj.kind);
  if (!type) {
    fail(files, obj, "apiVersion", `kubernetes-models has no ${obj.apiVersion} ${obj.kind}`);
    return;
  }
  const mod = await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
  try {
    new mod[obj.kind](obj).validate();
  } catch (e) {
    for (const err of e.errors ?? [{ instancePath: "", message: e.message }]) {
      const field = err.instancePath.replace(/^\//, "").replace(/\/(\d+)(?=\/|$)/g, "[$1]").replace(/\//g, ".");
      const extra = err.params?.missingProperty ? ` '${err.params.missingProperty}'` :
                    err.params?.allowedValues ? ` (${err.params.allowedValues.join(", ")})` : "";
      fail(files, obj, field || "(object)", `${err.message}${extra} (kubernetes-models)`);
    }
  }
  findUnknownFields(obj, type, (field, name, known) => {
    const guess = closest(name, known);
    fail(files, obj, field, `unknown field '${name}'${guess ? ` (did you mean '${guess}'?)` : ""}`);
  });
}

// matchLabels ⊆ labels; matchExpressions are not used here, so refused rather than guessed.
function selects(selector, labels) {
  if (!isPlainObject(selector)) return "no selector";
  if (selector.matchExpressions) return "matchExpressions are not checked by this validator; use matchLabels";
  const want = selector.matchLabels ?? {};
  if (Object.keys(want).length === 0) return "selects nothing specific (empty matchLabels)";
  for (const [k, v] of Object.entries(want)) {
    if (labels?.[k] !== v) return `${k}=${v} is not a pod label (pod labels: ${JSON.stringify(labels ?? {})})`;
  }
  return null;
}

function checkSet(label, objects, rules) {
  const of = (kind) => objects.filter((o) => o.obj.kind === kind);
  const deployments = of("Deployment");
  if (deployments.length !== 1) {
    fail(label, null, "", `expected one Deployment, found ${deployments.length}`);
    return;
  }
  const dep = deployments[0];
  const d = dep.obj;
  const pod = d.spec?.template ?? {};
  const podLabels = pod.metadata?.labels ?? {};
  const podSpec = pod.spec ?? {};
  const containers = podSpec.containers ?? [];
  const c = containers.find((x) => x.name === "kamado") ?? containers[0];
  if (!c) {
    fail(dep.files, d, "spec.template.spec.containers", "no container");
    return;
  }
  const ci = containers.indexOf(c);
  const cField = `spec.template.spec.containers[${ci}]`;

  // Deployment selector ⊆ pod template labels.
  const bad = selects(d.spec?.selector, podLabels);
  if (bad) fail(dep.files, d, "spec.selector", bad);

  // The config: a ConfigMap volume at the --config directory, holding serve.yaml.
  const cfgArg = (c.args ?? []).indexOf("--config");
  const cfgPath = cfgArg >= 0 ? c.args[cfgArg + 1] : null;
  if (!cfgPath) fail(dep.files, d, `${cField}.args`, "no '--config FILE' (kamado serve takes its settings from the ConfigMap)");
  let serve = null;
  let cm = null;
  if (cfgPath) {
    const mount = (c.volumeMounts ?? []).find((m) => path.posix.dirname(cfgPath) === m.mountPath);
    const vol = mount && (podSpec.volumes ?? []).find((v) => v.name === mount.name);
    cm = vol?.configMap && of("ConfigMap").find((o) => o.obj.metadata?.name === vol.configMap.name);
    const key = path.posix.basename(cfgPath);
    if (!cm) {
      fail(dep.files, d, `${cField}.volumeMounts`, `no ConfigMap of this kustomization is mounted at ${path.posix.dirname(cfgPath)}`);
    } else if (typeof cm.obj.data?.[key] !== "string") {
      fail(cm.files, cm.obj, `data.${key}`, `missing: --config reads ${cfgPath}`);
    } else {
      try {
        [serve] = parseYamlDocs(cm.obj.data[key], key);
      } catch (e) {
        fail(cm.files, cm.obj, `data.${key}`, `YAML: ${e.message}`);
      }
    }
  }
  if (serve !== null && !isPlainObject(serve)) {
    fail(cm.files, cm.obj, "data.serve.yaml", "not a mapping");
    serve = null;
  }
  const sField = "data.serve.yaml";
  if (serve) {
    for (const k of Object.keys(serve)) {
      if (!SERVE_KEYS.has(k)) {
        const guess = closest(k, SERVE_KEYS);
        fail(cm.files, cm.obj, `${sField}: ${k}`, `unknown kamado serve key${guess ? ` (did you mean '${guess}'?)` : ""}`);
      }
    }
    if (!["0.0.0.0", "::"].includes(serve.host)) {
      fail(cm.files, cm.obj, `${sField}: host`, `'${serve.host}': must be 0.0.0.0 (or ::) for the kubelet and the Service to reach it`);
    }
    if (!Number.isInteger(serve.port) || serve.port < 1) fail(cm.files, cm.obj, `${sField}: port`, "must be a fixed port number");
    if (serve.oversubscribe === true) fail(cm.files, cm.obj, `${sField}: oversubscribe`, "must not be true in a pod with a CPU limit");
  }

  // Ports and probes: every probe an httpGet on the container port serve.yaml listens on.
  const ports = c.ports ?? [];
  const http = ports.find((p) => p.name === "http");
  if (!http) fail(dep.files, d, `${cField}.ports`, "no port named 'http'");
  if (http && serve && http.containerPort !== serve.port) {
    fail(dep.files, d, `${cField}.ports[${ports.indexOf(http)}].containerPort`,
         `${http.containerPort} but serve.yaml port is ${serve.port}`);
  }
  const portFor = (ref) => (typeof ref === "number" ? ports.find((p) => p.containerPort === ref)
                                                    : ports.find((p) => p.name === ref));
  const wantPath = { startupProbe: "/v2/health/ready", readinessProbe: "/v2/health/ready", livenessProbe: "/v2/health/live" };
  for (const [probe, want] of Object.entries(wantPath)) {
    const p = c[probe];
    const field = `${cField}.${probe}`;
    if (!p) {
      fail(dep.files, d, field, "missing");
      continue;
    }
    if (!p.httpGet) {
      fail(dep.files, d, field, "must be an httpGet probe");
      continue;
    }
    const port = portFor(p.httpGet.port);
    if (!port) fail(dep.files, d, `${field}.httpGet.port`, `'${p.httpGet.port}' names no container port`);
    else if (serve && port.containerPort !== serve.port) {
      fail(dep.files, d, `${field}.httpGet.port`, `port ${port.containerPort} but kamado listens on ${serve.port}`);
    }
    if (!KAMADO_GET_ROUTES.includes(p.httpGet.path)) {
      fail(dep.files, d, `${field}.httpGet.path`, `'${p.httpGet.path}' is not a kamado route (${KAMADO_GET_ROUTES.join(", ")})`);
    } else if (p.httpGet.path !== want) {
      fail(dep.files, d, `${field}.httpGet.path`, `'${p.httpGet.path}': the ${probe} belongs on ${want}`);
    }
  }
  const ann = pod.metadata?.annotations ?? {};
  if (ann["prometheus.io/port"] && serve && Number(ann["prometheus.io/port"]) !== serve.port) {
    fail(dep.files, d, "spec.template.metadata.annotations.prometheus.io/port", `${ann["prometheus.io/port"]} but kamado listens on ${serve.port}`);
  }
  if (ann["prometheus.io/path"] && ann["prometheus.io/path"] !== "/metrics") {
    fail(dep.files, d, "spec.template.metadata.annotations.prometheus.io/path", "kamado serves its metrics on /metrics");
  }

  // Guaranteed QoS with integer CPUs (the static CPU manager pins only those).
  const res = c.resources ?? {};
  const cpuReq = parseQuantity(res.requests?.cpu);
  const cpuLim = parseQuantity(res.limits?.cpu);
  if (!Number.isInteger(cpuLim) || cpuLim < 1) fail(dep.files, d, `${cField}.resources.limits.cpu`, `'${res.limits?.cpu}' must be a whole number of CPUs`);
  if (cpuReq !== cpuLim) fail(dep.files, d, `${cField}.resources.requests.cpu`, `'${res.requests?.cpu}' must equal limits.cpu '${res.limits?.cpu}'`);
  const memReq = parseQuantity(res.requests?.memory);
  const memLim = parseQuantity(res.limits?.memory);
  if (!(memLim > 0)) fail(dep.files, d, `${cField}.resources.limits.memory`, "missing");
  if (memReq !== memLim) fail(dep.files, d, `${cField}.resources.requests.memory`, `'${res.requests?.memory}' must equal limits.memory '${res.limits?.memory}'`);
  if (serve && Number.isInteger(cpuLim)) {
    const used = (serve.workers ?? 1) * (serve.sessions || 1) * (serve.threads || 1);
    if (used > cpuLim) fail(cm.files, cm.obj, `${sField}: workers × sessions × threads`, `${used} > the CPU limit ${cpuLim}`);
  }

  // Shutdown: the grace period covers preStop, kamado's drain delay and its drain timeout.
  const sleep = c.lifecycle?.preStop?.sleep?.seconds;
  if (c.lifecycle?.preStop && sleep === undefined) {
    fail(dep.files, d, `${cField}.lifecycle.preStop`, "must be a sleep action (the image has no shell to exec)");
  }
  if (serve) {
    const delay = serve.drain_delay_s ?? DEFAULTS.drain_delay_s;
    const drain = (serve.drain_timeout_ms ?? DEFAULTS.drain_timeout_ms) / 1000;
    const need = (sleep ?? 0) + delay + drain;
    const grace = podSpec.terminationGracePeriodSeconds ?? 30;
    if (!(grace > need)) {
      fail([...dep.files, ...cm.files], d, "spec.template.spec.terminationGracePeriodSeconds",
           `${grace} s must exceed preStop ${sleep ?? 0} s + drain_delay_s ${delay} s + drain_timeout_ms ${drain * 1000} ms = ${need} s`);
    }
  }

  // Security: non-root uid 1000, read-only root; the compile cache on a writable emptyDir.
  const psc = podSpec.securityContext ?? {};
  const csc = c.securityContext ?? {};
  if ((csc.runAsNonRoot ?? psc.runAsNonRoot) !== true) fail(dep.files, d, "spec.template.spec.securityContext.runAsNonRoot", "must be true");
  if ((csc.runAsUser ?? psc.runAsUser) !== 1000) fail(dep.files, d, "spec.template.spec.securityContext.runAsUser", "must be 1000 (the image's kamado user)");
  if (csc.readOnlyRootFilesystem !== true) fail(dep.files, d, `${cField}.securityContext.readOnlyRootFilesystem`, "must be true");
  if (serve?.compile_cache) {
    const m = (c.volumeMounts ?? []).find((v) => serve.compile_cache === v.mountPath || serve.compile_cache.startsWith(`${v.mountPath}/`));
    const vol = m && (podSpec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol?.emptyDir || m.readOnly) {
      fail(dep.files, d, `${cField}.volumeMounts`, `serve.yaml compile_cache ${serve.compile_cache} is not on a writable emptyDir (the root filesystem is read-only)`);
    }
  }

  // Topology spread selects this Deployment's pods.
  for (const [i, t] of (podSpec.topologySpreadConstraints ?? []).entries()) {
    const why = selects(t.labelSelector, podLabels);
    if (why) fail(dep.files, d, `spec.template.spec.topologySpreadConstraints[${i}].labelSelector`, why);
  }
  const keys = (podSpec.topologySpreadConstraints ?? []).map((t) => t.topologyKey);
  for (const k of ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]) {
    if (!keys.includes(k)) fail(dep.files, d, "spec.template.spec.topologySpreadConstraints", `no constraint on ${k}`);
  }

  // Service: selects the pods, targets the http port.
  const services = of("Service");
  if (services.length === 0) fail(label, null, "", "no Service");
  for (const s of services) {
    const sel = s.obj.spec?.selector;
    const why = selects({ matchLabels: sel }, podLabels);
    if (why) fail(s.files, s.obj, "spec.selector", why);
    for (const [i, p] of (s.obj.spec?.ports ?? []).entries()) {
      if (!portFor(p.targetPort ?? p.port)) fail(s.files, s.obj, `spec.ports[${i}].targetPort`, `'${p.targetPort ?? p.port}' names no container port`);
    }
  }

  // PDB: selects the pods; leaves a replica when the HPA is at its minimum.
  const hpas = of("HorizontalPodAutoscaler");
  const minReplicas = hpas[0]?.obj.spec?.minReplicas ?? d.spec?.replicas ?? 1;
  const pdbs = of("PodDisruptionBudget");
  if (pdbs.length === 0) fail(label, null, "", "no PodDisruptionBudget");
  for (const p of pdbs) {
    const why = selects(p.obj.spec?.selector, podLabels);
    if (why) fail(p.files, p.obj, "spec.selector", why);
    const { maxUnavailable, minAvailable } = p.obj.spec ?? {};
    if ((maxUnavailable === undefined) === (minAvailable === undefined)) {
      fail(p.files, p.obj, "spec", "needs exactly one of maxUnavailable, minAvailable");
    } else if (typeof maxUnavailable === "number" && maxUnavailable >= minReplicas) {
      fail(p.files, p.obj, "spec.maxUnavailable", `${maxUnavailable} would let every one of the ${minReplicas} minimum replicas go`);
    } else if (typeof minAvailable === "number" && minAvailable >= minReplicas) {
      fail(p.files, p.obj, "spec.minAvailable", `${minAvailable} at ${minReplicas} replicas blocks every drain`);
    }
  }

  // HPA: scales this Deployment on a metric the adapter rules give, with CPU as fallback.
  if (hpas.length !== 1) fail(label, null, "", `expected one HorizontalPodAutoscaler, found ${hpas.length}`);
  for (const h of hpas) {
    const ref = h.obj.spec?.scaleTargetRef ?? {};
    if (ref.apiVersion !== "apps/v1" || ref.kind !== "Deployment" || ref.name !== d.metadata?.name) {
      fail(h.files, h.obj, "spec.scaleTargetRef", `${ref.apiVersion} ${ref.kind}/${ref.name} is not the Deployment apps/v1 Deployment/${d.metadata?.name}`);
    }
    if (!(minReplicas >= 2)) fail(h.files, h.obj, "spec.minReplicas", `${minReplicas}: at least 2, so a disruption leaves one serving`);
    const metrics = h.obj.spec?.metrics ?? [];
    const produced = new Map((rules ?? []).map((r) => [r.name, r]));
    let pods = 0;
    for (const [i, m] of metrics.entries()) {
      if (m.type !== "Pods") continue;
      pods++;
      const name = m.pods?.metric?.name;
      if (rules && !produced.has(name)) {
        fail(h.files, h.obj, `spec.metrics[${i}].pods.metric.name`,
             `'${name}' is not produced by the prometheus-adapter rules (they give: ${[...produced.keys()].join(", ")})`);
      }
      if (m.pods?.target?.type !== "AverageValue" || !(parseQuantity(m.pods?.target?.averageValue) > 0)) {
        fail(h.files, h.obj, `spec.metrics[${i}].pods.target`, "needs type AverageValue and a positive averageValue (in flight per replica)");
      }
    }
    if (pods === 0) fail(h.files, h.obj, "spec.metrics", "no Pods metric: scale on kamado's own load signal");
    if (!metrics.some((m) => m.type === "Resource" && m.resource?.name === "cpu")) {
      fail(h.files, h.obj, "spec.metrics", "no CPU Resource metric as the fallback");
    }
  }
}

// The adapter rules: a ConfigMap of their own (not part of any kustomization).
async function loadAdapterRules() {
  const file = path.join(root, "base", "prometheus-adapter-rules.yaml");
  // A failure that leaves no rules to check the HPA against.
  const none = (obj, field, message) => {
    fail(file, obj, field, message);
    return { rules: null, file };
  };
  if (!fs.existsSync(file)) return none(null, "", "missing: the HPA's custom metric needs prometheus-adapter rules");
  let docs;
  try {
    docs = loadYamlDocs(file);
  } catch (e) {
    return none(null, "", e.message);
  }
  const cm = docs.find((o) => o.kind === "ConfigMap");
  if (!cm) return none(null, "", "no ConfigMap");
  await validateModel({ obj: cm, files: [file] });
  let rules;
  try {
    rules = adapterRules(cm);
  } catch (e) {
    return none(cm, "data.config.yaml", e.message);
  }
  for (const r of rules) {
    const f = `data.config.yaml rules[${r.index}]`;
    if (!KAMADO_METRICS.has(r.series)) fail(file, cm, `${f}.seriesQuery`, `'${r.series}' is not a metric kamado exports (${[...KAMADO_METRICS].join(", ")})`);
    for (const l of ["namespace", "pod"]) {
      if (!r.labels.includes(l)) fail(file, cm, `${f}.seriesQuery`, `does not require the '${l}' label`);
      if (r.overrides[l]?.resource !== l) fail(file, cm, `${f}.resources.overrides.${l}`, `must map the '${l}' label to the ${l} resource`);
    }
    for (const token of ["<<.Series>>", "<<.LabelMatchers>>", "<<.GroupBy>>"]) {
      if (!r.metricsQuery.includes(token)) fail(file, cm, `${f}.metricsQuery`, `lacks ${token}`);
    }
  }
  return { rules, file };
}

const { rules, file: rulesFile } = await loadAdapterRules();

// Every YAML file under the root must be read by some build (or be the adapter rules).
const seen = new Set([rulesFile]);
const dirs = [path.join(root, "base")];
const overlays = path.join(root, "overlays");
if (fs.existsSync(overlays)) {
  for (const e of fs.readdirSync(overlays).sort()) {
    if (fs.existsSync(path.join(overlays, e, "kustomization.yaml"))) dirs.push(path.join(overlays, e));
  }
}
let count = 0;
for (const dir of dirs) {
  const built = buildKustomization(dir, (f, m) => fail(f, null, "", m));
  built.files.forEach((f) => seen.add(path.resolve(f)));
  for (const entry of built.objects) await validateModel(entry);
  checkSet(path.join(dir, "kustomization.yaml"), built.objects, rules);
  count += built.objects.length;
}
const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(path.join(d, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(d, e.name)] : []);
for (const f of walk(root)) {
  if (!seen.has(path.resolve(f))) fail(f, null, "", "not read by any kustomization.yaml (a resource or patch left out?)");
}

// A base object's fault shows once, not once per overlay that includes it.
for (const line of new Set(failures)) console.log(line);
const what = `${count} objects in ${dirs.map((d) => rel(d)).join(", ")}`;
if (failures.length > 0) {
  console.log(`validate_manifests: ${new Set(failures).size} failure(s) (${what})`);
  process.exit(1);
}
console.log(`validate_manifests: OK (${what}, adapter rules ${rules.map((r) => r.name).join(", ")})`);
