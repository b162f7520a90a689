// Calls to Lockgate's /api/v1 (and nothing else): JSON in, JSON out, errors as ApiError.
const AUTH_KEY = "lockgate.auth";

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

export function credentials() { return sessionStorage.getItem(AUTH_KEY); }
export function setCredentials(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = "";
  bytes.forEach((b) => { bin += String.fromCharCode(b); });
  sessionStorage.setItem(AUTH_KEY, "Basic " + btoa(bin));
}
export function clearCredentials() { sessionStorage.removeItem(AUTH_KEY); }

function headers(extra) {
  const h = { "x-lockgate-ui": "1", ...extra };
  const auth = credentials();
  if (auth) h.authorization = auth;
  return h;
}

export async function raw(path, init = {}) {
  const resp = await fetch(path, { ...init, headers: headers(init.headers) });
  if (!resp.ok) {
    let body = {};
    try { body = await resp.json(); } catch (e) { body = {}; }
    const err = new ApiError(resp.status, body.error_code || "HTTP_" + resp.status,
      body.message || `${resp.status} ${resp.statusText}`, body.details);
    if (resp.status === 401) onUnauthorized(err);
    throw err;
  }
  return resp;
}

export async function get(path, params) {
  const qs = params ? "?" + new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString() : "";
  return (await raw(path + qs)).json();
}

// Who acts when the server has no auth (`lockgate ui`): the name the user typed, sent as the
// actor header the server records in the audit trail (never used for permissions).
const ACTOR_KEY = "lockgate.actor";
export function actorName() { return localStorage.getItem(ACTOR_KEY) || ""; }
export function setActorName(name) { localStorage.setItem(ACTOR_KEY, name); }

async function send(method, path, body, params) {
  const qs = params ? "?" + new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString() : "";
  const h = { "content-type": "application/json" };
  if (!credentials() && actorName()) h["x-lockgate-actor"] = actorName();
  return (await raw(path + qs, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: h })).json();
}

export async function post(path, body) { return send("POST", path, body); }

export const api = {
  serverInfo: () => get("/api/v1/server-info"),
  searchExperiments: (body) => post("/api/v1/experiments/search", body),
  experimentStats: (ids) => post("/api/v1/experiments/stats", { experiment_ids: ids }),
  experiment: (id) => get(`/api/v1/experiments/${encodeURIComponent(id)}`),
  restoreExperiment: (id) => post(`/api/v1/experiments/${encodeURIComponent(id)}/restore`, {}),
  keys: (id, contains, max) => get(`/api/v1/experiments/${encodeURIComponent(id)}/keys`,
    { contains, max_results: max }),
  searchRuns: (body) => post("/api/v1/runs/search", body),
  run: (id) => get(`/api/v1/runs/${encodeURIComponent(id)}`),
  restoreRun: (id) => post(`/api/v1/runs/${encodeURIComponent(id)}/restore`, {}),
  sampled: (body) => post("/api/v1/metrics/sampled", body),
  modelVersionsOfRun: (runId) => get("/api/v1/model-versions", {
    filter_string: `run_id = '${runId.replace(/[^0-9a-fA-F]/g, "")}'`, max_results: 100,
  }),
  permissions: (experimentId) => get("/api/v1/permissions", { experiment_id: experimentId }),
  // {user, registered_model: {permission, privileged, operations}}: which buttons to show.
  modelAccess: (name) => get("/api/v1/auth/whoami", { registered_model: name }),
  searchModels: (filter, pageToken) => get("/api/v1/registered-models", {
    filter_string: filter, max_results: 100, page_token: pageToken, order_by: "name ASC" }),
  modelSummaries: (names) => post("/api/v1/registered-models/summaries", { names }),
  model: (name) => get(`${M(name)}`),
  versions: (name) => get("/api/v1/model-versions", {
    filter_string: `name = ${quoteValue(name)}`, max_results: 1000, order_by: "version_number DESC" }),
  version: (name, v) => get(`${M(name)}/versions/${encodeURIComponent(v)}`),
  lineage: (name, v) => get(`${M(name)}/versions/${encodeURIComponent(v)}/lineage`),
  gateOverview: (name) => get(`${M(name)}/gates/overview`),
  timeline: (name, params) => get(`${M(name)}/timeline`, params),
  timelineExportUrl: (name, params) => `${M(name)}/timeline/export?` + new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString(),
  evaluate: (name, body) => post(`${M(name)}/gates/evaluate`, body),
  promote: (name, body) => post(`${M(name)}/promote`, body),
  approve: (name, v, comment) => post(`${M(name)}/versions/${encodeURIComponent(v)}/approve`, { comment: comment || null }),
  deleteAlias: (name, alias, reason, override) => send("DELETE", `${M(name)}/aliases/${encodeURIComponent(alias)}`,
    undefined, { reason, override: override ? "true" : undefined }),
  transition: (name, v, body) => post(`${M(name)}/versions/${encodeURIComponent(v)}/stage`, body),
  artifacts: (runId, path) => get(`/api/v1/runs/${encodeURIComponent(runId)}/artifacts`, { path }),
  preview: (runId, path) => get(`/api/v1/runs/${encodeURIComponent(runId)}/artifacts/preview`, { path }),
  fileUrl: (runId, path, download) => `/api/v1/runs/${encodeURIComponent(runId)}/artifacts/file?` +
    new URLSearchParams({ path, ...(download ? { download: "true" } : {}) }).toString(),
};

// A filter/sort key as the search language spells it: backticks unless it is a plain word.
export function quoteKey(kind, key) {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key.replace(/`/g, "")}\``;
}

const M = (name) => `/api/v1/registered-models/${encodeURIComponent(name)}`;

// A string literal of the search language that parses back to exactly `v` (backslash escapes).
export function quoteValue(v) {
  return "'" + v.replace(/\\/g, "\\\\").replace(/'/g, "\\'") + "'";
}

// An ILIKE pattern literal matching names that contain `v` (its %, _ and \ taken literally).
export function containsPattern(v) {
  return quoteValue("%" + v.replace(/[\\%_]/g, (c) => "\\" + c) + "%");
}

// Downloads what an API URL returns (with the tab's credentials) as a file.
export async function download(path, filename) {
  const blob = await (await raw(path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
