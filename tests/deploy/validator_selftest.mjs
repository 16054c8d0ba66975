// Tests the validator itself: a copy of deploy/kubernetes with known faults must make
// validate_manifests.mjs exit 1 with a line naming each (file, object, field).
//
//   node tests/deploy/validator_selftest.mjs
//
// Exit 0 when every fault was reported, 1 otherwise, 77 / 1 when node_modules is missing
// (as validate_manifests.mjs).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kamado-manifests-"));
const root = path.join(tmp, "kubernetes");
fs.cpSync(path.join(repo, "deploy/kubernetes"), root, { recursive: true });

// [file, text to find, its replacement, what the validator must print]
const faults = [
  ["base/deployment.yaml", "imagePullPolicy: IfNotPresent", "imagePullPolicy: IfNotPresent\n          imagePullPolicyy: Always",
   ["base/deployment.yaml", "Deployment/kamado", "containers[0].imagePullPolicyy", "unknown field", "did you mean 'imagePullPolicy'"]],
  ["base/service.yaml", "    app.kubernetes.io/component: server\n  ports:", "    app.kubernetes.io/component: frontend\n  ports:",
   ["base/service.yaml", "Service/kamado", "spec.selector", "app.kubernetes.io/component=frontend is not a pod label"]],
  ["overlays/4vcpu/deployment-patch.yaml", "requests:\n              cpu: \"3\"", "requests:\n              cpu: 2500m",
   ["overlays/4vcpu/deployment-patch.yaml", "resources.requests.cpu", "must equal limits.cpu"]],
  ["base/configmap.yaml", "drain_timeout_ms: 15000", "drain_timeout_ms: 30000",
   ["base/configmap.yaml", "terminationGracePeriodSeconds", "must exceed preStop 5 s + drain_delay_s 5 s + drain_timeout_ms 30000 ms"]],
  ["base/hpa.yaml", "name: kamado_in_flight\n", "name: kamado_inflight\n",
   ["base/hpa.yaml", "HorizontalPodAutoscaler/kamado", "pods.metric.name", "'kamado_inflight' is not produced by the prometheus-adapter rules"]],
];

let ok = true;
for (const [file, from, to] of faults) {
  const p = path.join(root, file);
  const text = fs.readFileSync(p, "utf8");
  if (!text.includes(from)) {
    console.log(`FAIL selftest: ${file} no longer contains ${JSON.stringify(from)}; update the fault`);
    ok = false;
  }
  fs.writeFileSync(p, text.replace(from, to));
}

const run = spawnSync(process.execPath, [path.join(here, "validate_manifests.mjs"), "--root", root],
                      { encoding: "utf8", cwd: tmp });
fs.rmSync(tmp, { recursive: true, force: true });
const out = `${run.stdout}${run.stderr}`;
if (run.status === 77 || (run.status === 1 && /cannot load tests\/deploy\/node_modules/.test(out))) {
  process.stdout.write(out);
  process.exit(run.status);
}
if (run.status !== 1) {
  console.log(`FAIL selftest: the validator exited ${run.status} on a broken copy, expected 1`);
  ok = false;
}
const lines = out.split("\n").filter((l) => l.startsWith("FAIL "));
for (const [file, , , want] of faults) {
  if (!lines.some((l) => want.every((w) => l.includes(w)))) {
    console.log(`FAIL selftest: no failure line for the fault in ${file} containing all of ${JSON.stringify(want)}`);
    ok = false;
  }
}
if (!ok) {
  console.log("--- validator output:");
  process.stdout.write(out);
  process.exit(1);
}
console.log(`validator_selftest: OK (${faults.length} faults, each reported; ${lines.length} failure lines)`);
