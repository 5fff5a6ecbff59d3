// pipeline-graph.mjs — a pipeline file reduced to what both hosts must agree on: which
// `ci/job.sh` commands it runs, and which commands must have finished before each one starts.
// ci/validate.sh runs it on .github/workflows/ci.yml and on .gitlab-ci.yml (each converted to JSON
// by build/tools/yaml2json) and compares the two outputs line by line.
//
// usage: node pipeline-graph.mjs github|gitlab FILE.json
// Output, sorted: one line per command, "COMMAND <- DEP, DEP, ..." where COMMAND is what follows
// `ci/job.sh` with the job's matrix expanded ("build gcc", "test labs"), and the DEPs are every
// command that runs before it: on GitHub, the jobs it `needs`, and theirs; on GitLab, the jobs of
// every earlier stage (or the ones it `needs`, and theirs). Exit status 2 on bad input, with why.
import { readFileSync } from "node:fs";

const JOB_SH = /\bci\/job\.sh\s+(.*)$/;

function fail(msg) {
  console.error(`pipeline-graph: ${msg}`);
  process.exit(2);
}

// Every combination of a matrix: {cc: [gcc, clang]} gives [{cc: gcc}, {cc: clang}].
function combinations(matrix) {
  let out = [{}];
  for (const [key, values] of Object.entries(matrix)) {
    if (key === "include" || key === "exclude") fail(`matrix ${key} is not supported here`);
    const list = Array.isArray(values) ? values : [values];
    out = out.flatMap((combo) => list.map((v) => ({ ...combo, [key]: String(v) })));
  }
  return out;
}

// The `ci/job.sh` arguments of a list of shell lines, with the variables of one combination put in.
function commands(lines, substitute) {
  const out = [];
  for (const line of lines) {
    if (typeof line !== "string") continue;
    for (const part of line.split("\n")) {
      const m = JOB_SH.exec(part.trim());
      if (m) out.push(substitute(m[1]).replace(/["']/g, "").replace(/\s+/g, " ").trim());
    }
  }
  return out;
}

function github(doc) {
  const jobs = doc.jobs ?? fail("no jobs: in the workflow");
  const cmds = {};
  for (const [name, job] of Object.entries(jobs)) {
    const combos = job.strategy?.matrix ? combinations(job.strategy.matrix) : [{}];
    const runs = (job.steps ?? []).map((s) => s.run);
    cmds[name] = combos.flatMap((combo) =>
      commands(runs, (s) =>
        s.replace(/\$\{\{\s*matrix\.([A-Za-z0-9_-]+)\s*\}\}/g, (_, k) =>
          k in combo ? combo[k] : fail(`job ${name}: matrix.${k} is not in its matrix`),
        ),
      ),
    );
  }
  const needs = (name) => {
    const n = jobs[name].needs ?? [];
    return Array.isArray(n) ? n : [n];
  };
  return graph(Object.keys(jobs), cmds, needs);
}

const GITLAB_KEYWORDS = new Set(["stages", "default", "variables", "workflow", "include", "image", "services", "cache", "before_script", "after_script"]);

function gitlab(doc) {
  const stages = doc.stages ?? ["build", "test", "deploy"];
  const names = Object.keys(doc).filter((k) => !GITLAB_KEYWORDS.has(k) && !k.startsWith(".") && doc[k] && typeof doc[k] === "object");
  const cmds = {};
  for (const name of names) {
    const job = doc[name];
    const matrix = job.parallel?.matrix;
    const combos = matrix ? matrix.flatMap((m) => combinations(m)) : [{}];
    cmds[name] = combos.flatMap((combo) =>
      commands(job.script ?? [], (s) =>
        s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (all, k) => (k in combo ? combo[k] : all)),
      ),
    );
  }
  const stageOf = (name) => {
    const i = stages.indexOf(doc[name].stage ?? "test");
    if (i < 0) fail(`job ${name}: stage ${doc[name].stage} is not in stages:`);
    return i;
  };
  const needs = (name) => {
    const n = doc[name].needs;
    if (n !== undefined) return n.map((x) => (typeof x === "string" ? x : x.job));
    return names.filter((other) => stageOf(other) < stageOf(name));
  };
  return graph(names, cmds, needs);
}

// Every command with every command that must run before it (the transitive closure of needs).
function graph(names, cmds, needs) {
  const before = new Map();
  const visit = (name, trail) => {
    if (before.has(name)) return before.get(name);
    if (trail.includes(name)) fail(`a cycle of needs: ${[...trail, name].join(" -> ")}`);
    const all = new Set();
    for (const dep of needs(name)) {
      if (!names.includes(dep)) fail(`job ${name} needs ${dep}, which is not a job`);
      for (const c of cmds[dep]) all.add(c);
      for (const c of visit(dep, [...trail, name])) all.add(c);
    }
    before.set(name, all);
    return all;
  };
  const lines = [];
  for (const name of names) {
    for (const c of cmds[name]) lines.push(`${c} <- ${[...visit(name, [])].sort().join(", ")}`);
  }
  return lines.sort();
}

const [host, file] = process.argv.slice(2);
if (!host || !file) fail("usage: node pipeline-graph.mjs github|gitlab FILE.json");
let doc;
try {
  doc = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  fail(`cannot read ${file}: ${e.message}`);
}
const lines = host === "github" ? github(doc) : host === "gitlab" ? gitlab(doc) : fail(`unknown host ${host}`);
console.log(lines.join("\n"));
