// Display helpers: every value ends up as text (Preact escapes it), never as markup.
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtDuration(start, end) {
  if (!start) return "";
  const ms = (end || Date.now()) - start;
  if (ms < 0) return "";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function fmtValue(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-4 || a >= 1e7) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
  }
  return String(v);
}

export function num(v) {
  if (typeof v === "number") return v;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  const n = Number(v);
  return v !== "" && v !== null && v !== undefined && Number.isFinite(n) ? n : null;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// Which orchestrator produced a run, from its lockgate.* tags; null when none did.
export function orchestrator(tags) {
  const t = tags || {};
  const kind = t["lockgate.orchestrator"];
  if (t["lockgate.airflow.dag_id"] || kind === "airflow") {
    const task = t["lockgate.airflow.task_id"];
    return { kind: "Airflow", label: `${t["lockgate.airflow.dag_id"] || ""}${task ? " / " + task : ""}`, url: t["lockgate.airflow.url"] };
  }
  if (t["lockgate.prefect.flow_run_id"] || kind === "prefect") {
    return { kind: "Prefect", label: t["lockgate.prefect.flow_name"] || t["lockgate.prefect.flow_run_id"] || "", url: t["lockgate.prefect.flow_run_url"] || t["lockgate.prefect.url"] };
  }
  if (t["lockgate.dagster.run_id"] || t["lockgate.dagster.asset_key"] || kind === "dagster") {
    return { kind: "Dagster", label: t["lockgate.dagster.asset_key"] || t["lockgate.dagster.run_id"] || "", url: t["lockgate.dagster.url"] };
  }
  return kind ? { kind, label: "", url: null } : null;
}

// Only http(s) links are rendered as links; anything else (javascript:, data:) stays text.
export function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

// A version's stage for display: MLflow's "None" (no stage) shows as nothing.
export function stageName(stage) {
  return stage && stage !== "None" ? stage : "";
}
