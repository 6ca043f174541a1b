// The page for people: paste or upload, check, see findings, apply fixes, download.
// Plain JavaScript, no build step; every call goes to this server's own API.
"use strict";

const $ = (id) => document.getElementById(id);
let lastKind = null;
let lastFixed = null;

// 3 units of 97110 where 40 timed minutes give 2 + 1: one error, fixed by "set units 2".
const EXAMPLE = {
  date_of_service: "2026-03-04", payer: "medicare",
  provider: { discipline: "PT" },
  plan_of_care: { start: "2026-02-01", end: "2026-04-30", signed: "2026-02-05" },
  total_treatment_minutes: 45,
  lines: [
    { code: "97110", minutes: 33, units: 3, modifiers: ["GP"] },
    { code: "97140", minutes: 7, modifiers: ["GP"], regions: ["lumbar"],
      techniques: ["joint_mobilization"],
      documentation: { response: "tolerated well", rationale: "skilled joint mobilization",
        goals: "goal 2: sitting tolerance" } },
  ],
};
const RANK = { error: 0, warning: 1, info: 2 };

function kindOf(text) {
  const t = text.replace(/^\uFEFF/, "").trimStart();
  if (t.startsWith("ISA")) return "application/edi-x12";
  const lines = t.split(/\r?\n/).filter((l) => l.trim());
  if (lines.length > 1) {
    try { JSON.parse(t); return "application/json"; } catch (e) { return "application/x-ndjson"; }
  }
  return "application/json";
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function fixText(f) {
  const value = f.value === undefined || f.value === null ? "" : " " + f.value;
  return f.action.replace(/_/g, " ") + value + (f.line === undefined || f.line === null ? "" : " (line " + (f.line + 1) + ")");
}

function reportTable(report, title) {
  const box = el("div", { class: "report" });
  const state = report.invalid ? "not checked" : report.ok ? "no errors" : "has errors";
  box.append(el("h3", {}, title + ": " + state));
  if (report.invalid) {
    const ul = el("ul");
    for (const e of report.errors) ul.append(el("li", {}, (e.path ? e.path + ": " : "") + e.message));
    box.append(ul);
    return box;
  }
  if (!report.findings.length) { box.append(el("p", {}, "No findings.")); return box; }
  const table = el("table", { class: "findings" });
  table.append(el("tr", {}, el("th", {}, "Severity"), el("th", {}, "Line"), el("th", {}, "Finding"), el("th", {}, "Fixes")));
  // Errors first, then warnings, then notes; the report's own order within each.
  const findings = report.findings.map((f, i) => [f, i]).sort((a, b) => RANK[a[0].severity] - RANK[b[0].severity] || a[1] - b[1]).map((p) => p[0]);
  for (const f of findings) {
    const line = f.line === null ? "visit" : (f.claim_line ? "claim line " + f.claim_line : "line " + (f.line + 1));
    const what = el("td", {}, el("div", {}, f.message), el("div", { class: "cite" }, f.rule + " · " + f.citation));
    const fixes = el("td", {}, f.fixes.map(fixText).join("; ") || "none");
    table.append(el("tr", {}, el("td", {}, el("span", { class: "sev sev-" + f.severity }, f.severity)), el("td", {}, line), what, fixes));
  }
  box.append(table);
  return box;
}

async function call(path) {
  const text = $("source").value;
  lastKind = kindOf(text);
  const payer = $("payer").value;
  const url = path + (payer ? "?payer=" + encodeURIComponent(payer) : "");
  return fetch(url, { method: "POST", headers: { "Content-Type": lastKind }, body: text });
}

function showProblem(body) {
  $("result").hidden = true;
  $("problem").hidden = false;
  const ul = $("problems");
  ul.replaceChildren();
  for (const e of body.errors || [{ path: "", message: body.error }]) {
    ul.append(el("li", {}, (e.path ? e.path + ": " : "") + e.message));
  }
}

async function check() {
  $("download").hidden = true;
  lastFixed = null;
  const resp = await call("/v1/check");
  const text = await resp.text();
  if (!resp.ok) { showProblem(JSON.parse(text)); return; }
  let reports;
  if (lastKind === "application/x-ndjson") reports = text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
  else { const body = JSON.parse(text); reports = body.reports || [body]; }
  $("problem").hidden = true;
  $("result").hidden = false;
  const bad = reports.filter((r) => !r.ok).length;
  const one = reports.length === 1;
  $("verdict").textContent = bad ? (one ? "Errors found" : bad + " of " + reports.length + " with errors") : (one ? "No errors" : "No errors in " + reports.length);
  $("verdict").className = bad ? "bad" : "ok";
  const first = reports.find((r) => !r.invalid);
  $("meta").textContent = first ? "Payer " + first.payer + " · date of service " + first.date_of_service + " · rule data " + first.data_version : "";
  const box = $("reports");
  box.replaceChildren();
  reports.forEach((r, i) => {
    const title = r.claim !== undefined ? "Claim " + (r.record || i + 1) : r.record !== undefined ? "Record " + r.record : "Visit";
    box.append(reportTable(r, title));
  });
}

async function fix() {
  const resp = await call("/v1/fix");
  const text = await resp.text();
  if (!resp.ok) { showProblem(JSON.parse(text)); return; }
  const type = resp.headers.get("Content-Type") || "application/json";
  let name = "corrected.json";
  let body = text;
  if (type.startsWith("application/edi-x12")) name = "corrected.837";
  else if (type.startsWith("application/x-ndjson")) name = "corrected.jsonl";
  else body = JSON.stringify(JSON.parse(text), null, 2) + "\n";
  lastFixed = body;
  $("source").value = body;
  const link = $("download");
  link.href = URL.createObjectURL(new Blob([body], { type: type }));
  link.download = name;
  link.textContent = "Download " + name;
  link.hidden = false;
  await check();
  link.hidden = false;
}

async function loadPayers() {
  const resp = await fetch("/v1/payers");
  if (!resp.ok) return;
  const seen = new Set();
  for (const p of await resp.json()) {
    if (seen.has(p.id)) continue;
    seen.add(p.id);
    $("payer").append(el("option", { value: p.id }, p.name + " (" + p.id + ")"));
  }
}

$("check").addEventListener("click", () => check().catch((e) => showProblem({ error: String(e) })));
$("fix").addEventListener("click", () => fix().catch((e) => showProblem({ error: String(e) })));
$("example").addEventListener("click", () => { $("source").value = JSON.stringify(EXAMPLE, null, 2); });
$("file").addEventListener("change", async (ev) => {
  const f = ev.target.files[0];
  if (f) $("source").value = await f.text();
});
loadPayers();
