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

export async function post(path, body) {
  return (await raw(path, {
    method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" },
  })).json();
}

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
  artifacts: (runId, path) => get(`/api/v1/runs/${encodeURIComponent(runId)}/artifacts`, { path }),
  preview: (runId, path) => get(`/api/v1/runs/${encodeURIComponent(runId)}/artifacts/preview`, { path }),
  fileUrl: (runId, path, download) => `/api/v1/runs/${encodeURIComponent(runId)}/artifacts/file?` +
    new URLSearchParams({ path, ...(download ? { download: "true" } : {}) }).toString(),
};

// A filter/sort key as the search language spells it: backticks unless it is a plain word.
export function quoteKey(kind, key) {
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key.replace(/`/g, "")}\``;
}
