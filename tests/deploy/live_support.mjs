// The node half of live_metrics_check.sh.
//
//   node tests/deploy/live_support.mjs serve-yaml OUT CACHE_DIR
//     Writes OUT: the base ConfigMap's serve.yaml made to run here — host 127.0.0.1,
//     port 0, each model path replaced by the repository's models/<basename>, the
//     compile cache in CACHE_DIR. Every other setting is kept, so kamado itself checks
//     the keys and values the pods will run with.
//   node tests/deploy/live_support.mjs check URL SCRAPE_OUT
//     Against the server at URL: one /classify of data/images/chelsea.png (so the series
//     have values), each of the Deployment's probe paths answering 200, then a /metrics
//     scrape (written to SCRAPE_OUT for promtool) holding every series and label the
//     prometheus-adapter rules query.
// Prints a FAIL line per problem and exits 1 on any.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { REPO_ROOT, adapterRules, buildKustomization, loadYamlDocs } from "./manifests.mjs";

const KUBE = path.join(REPO_ROOT, "deploy/kubernetes");
const problems = [];
const fail = (m) => problems.push(`FAIL ${m}`);

function base() {
  const built = buildKustomization(path.join(KUBE, "base"), (f, m) => fail(`${path.relative(REPO_ROOT, f)}: ${m}`));
  const find = (kind) => built.objects.find((o) => o.obj.kind === kind)?.obj;
  return { deployment: find("Deployment"), configMap: find("ConfigMap") };
}

function serveYaml(out, cacheDir) {
  const { configMap } = base();
  const serve = YAML.parse(configMap?.data?.["serve.yaml"] ?? "null");
  if (!serve || !Array.isArray(serve.models)) throw new Error("base/configmap.yaml: data.serve.yaml has no models list");
  serve.host = "127.0.0.1";
  serve.port = 0;
  serve.models = serve.models.map((m) => {
    const local = path.join(REPO_ROOT, "models", path.posix.basename(typeof m === "string" ? m : m.path));
    if (!fs.existsSync(path.join(local, "kamado.yaml"))) throw new Error(`model ${m}: no ${local}/kamado.yaml here`);
    return local;
  });
  serve.compile_cache = cacheDir;
  fs.writeFileSync(out, YAML.stringify(serve));
}

// Prometheus text format → Map(metric name → [label sets]).
function parseScrape(text) {
  const series = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+\S+/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (!series.has(m[1])) series.set(m[1], []);
    series.get(m[1]).push(labels);
  }
  return series;
}

async function check(url, scrapeOut) {
  const { deployment } = base();
  const image = fs.readFileSync(path.join(REPO_ROOT, "data/images/chelsea.png"));
  const classify = await fetch(`${url}/v2/models/mobilenet_v2/classify`,
                               { method: "POST", body: image, headers: { "Content-Type": "image/png" } });
  const answer = await classify.text();
  if (classify.status !== 200) fail(`POST /v2/models/mobilenet_v2/classify: ${classify.status} ${answer.slice(0, 200)}`);

  const container = deployment?.spec?.template?.spec?.containers?.[0] ?? {};
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    const p = container[probe]?.httpGet?.path;
    if (!p) {
      fail(`base/deployment.yaml: ${probe} has no httpGet path`);
      continue;
    }
    const r = await fetch(`${url}${p}`);
    const body = await r.text();
    if (r.status !== 200) fail(`${probe} GET ${p}: ${r.status} ${body.slice(0, 200)}, expected 200`);
    else console.log(`live: ${probe} GET ${p} → 200 ${body.trim()}`);
  }

  const scrape = await fetch(`${url}/metrics`);
  const text = await scrape.text();
  fs.writeFileSync(scrapeOut, text);
  if (scrape.status !== 200) fail(`GET /metrics: ${scrape.status}`);
  const series = parseScrape(text);

  const rulesFile = path.join(KUBE, "base/prometheus-adapter-rules.yaml");
  const cm = loadYamlDocs(rulesFile).find((o) => o.kind === "ConfigMap");
  // namespace and pod come from Prometheus' Kubernetes service discovery, not from kamado.
  const fromDiscovery = new Set(["namespace", "pod"]);
  for (const rule of adapterRules(cm)) {
    const where = `base/prometheus-adapter-rules.yaml rules[${rule.index}]`;
    const samples = series.get(rule.series);
    if (!samples) {
      fail(`${where}: seriesQuery's '${rule.series}' is not in the /metrics scrape`);
      continue;
    }
    const queryLabels = [...rule.metricsQuery.replace(/<<[^>]*>>/g, "").matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)]
      .flatMap((m) => m[1].split(",").map((s) => s.trim()).filter(Boolean));
    for (const label of [...rule.labels, ...queryLabels]) {
      if (fromDiscovery.has(label)) {
        if (samples.some((s) => label in s)) fail(`${where}: kamado's own '${label}' label would clash with service discovery's`);
      } else if (!samples.some((s) => label in s)) {
        fail(`${where}: label '${label}' is on no ${rule.series} series in the scrape`);
      }
    }
    console.log(`live: ${where} → ${rule.name}: ${rule.series} present (${samples.length} series)`);
  }
  // The in-flight rule subtracts the scrape itself: an idle server must read exactly 1.
  const inFlight = /^kamado_in_flight_requests (\S+)$/m.exec(text)?.[1];
  if (inFlight !== "1") fail(`kamado_in_flight_requests is ${inFlight} on an idle server; the adapter rule's '- 1' assumes 1 (the scrape)`);
}

const [cmd, a, b] = process.argv.slice(2);
try {
  if (cmd === "serve-yaml" && a && b) serveYaml(a, b);
  else if (cmd === "check" && a && b) await check(a, b);
  else throw new Error("usage: live_support.mjs serve-yaml OUT CACHE_DIR | check URL SCRAPE_OUT");
} catch (e) {
  fail(e.message);
}
for (const p of problems) console.log(p);
process.exit(problems.length > 0 ? 1 : 0);
