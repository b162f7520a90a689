// One run: info, params, latest metrics, a chart per metric, tags, datasets and artifacts.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtDuration, fmtTime, fmtValue, orchestrator, safeUrl, stageName } from "../format.js";
import { Link, modelHref } from "../router.jsx";
import { LineChart } from "../components/Chart.jsx";
import { ArtifactBrowser } from "./Artifacts.jsx";
import { ErrorBox, NotFoundPage } from "./NotFound.jsx";

const CHARTS = 12;
const TABLE_ROWS = 300;

function KeyValueTable({ title, entries, testId, numeric }) {
  return (
    <table class="grid kv" data-testid={testId}>
      <caption>{title}</caption>
      <thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead>
      <tbody>
        {entries.map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td class={numeric ? "num" : ""}>{numeric ? fmtValue(v) : v}</td></tr>)}
        {entries.length === 0 && <tr><td colSpan={2} class="muted">None</td></tr>}
      </tbody>
    </table>
  );
}

function MetricChart({ runId, metricKey, initial }) {
  const [series, setSeries] = useState(initial);
  const [error, setError] = useState(null);
  const zoom = (lo, hi) => {
    api.sampled({ run_ids: [runId], keys: [metricKey], start: Math.floor(lo), end: Math.ceil(hi), max_points: 1000 })
      .then((r) => setSeries(r.series[0])).catch(setError);
  };
  useEffect(() => setSeries(initial), [initial]);
  if (!series) return null;
  return (
    <figure class="chart-card">
      <figcaption>{metricKey} <span class="muted">{series.total} points{series.sampled ? ", downsampled" : ""}</span>
        {series !== initial && <button type="button" class="link" onClick={() => setSeries(initial)}>Reset zoom</button>}</figcaption>
      <ErrorBox error={error} />
      <LineChart series={[{ label: metricKey, points: series.points }]} onZoom={zoom} testId={`chart-${metricKey}`} />
    </figure>
  );
}

export function RunPage({ runId }) {
  const [run, setRun] = useState(null);
  const [error, setError] = useState(null);
  const [perm, setPerm] = useState(null);
  const [experiment, setExperiment] = useState(null);
  const [metricFilter, setMetricFilter] = useState("");
  const [chartCount, setChartCount] = useState(CHARTS);
  const [histories, setHistories] = useState({});
  const requested = useRef(new Set());
  const [versions, setVersions] = useState(null);
  const reload = () => api.run(runId).then((r) => {
    setRun(r);
    api.permissions(r.info.experiment_id).then(setPerm).catch(() => setPerm(null));
    api.experiment(r.info.experiment_id).then(setExperiment).catch(() => setExperiment(null));
  }).catch(setError);
  useEffect(() => { reload(); }, [runId]);
  useEffect(() => {
    // The registry may be absent or unreadable for this user: then the section just says so.
    api.modelVersionsOfRun(runId).then((r) => setVersions(r.items)).catch(() => setVersions([]));
  }, [runId]);

  const metricKeys = useMemo(() => (run ? Object.keys(run.data.metrics).sort() : []), [run]);
  const shownKeys = useMemo(() => {
    const f = metricFilter.toLowerCase();
    return metricKeys.filter((k) => !f || k.toLowerCase().includes(f));
  }, [metricKeys, metricFilter]);
  const chartKeys = shownKeys.slice(0, chartCount);
  useEffect(() => { requested.current = new Set(); setHistories({}); }, [runId]);
  useEffect(() => {
    const missing = chartKeys.filter((k) => !requested.current.has(k));
    if (!run || !missing.length) return;
    missing.forEach((k) => requested.current.add(k));
    // One key per request, two requests at a time: each chart draws as soon as its own series
    // is sampled (a million-point series takes the server a while) instead of after all of them.
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const key = missing[next++];
        try {
          const r = await api.sampled({ run_ids: [runId], keys: [key], max_points: 1000 });
          setHistories((h) => ({ ...h, [key]: r.series[0] }));
        } catch (e) { setError(e); }
      }
    };
    worker();
    worker();
  }, [run, chartKeys.join("\u0000")]);

  if (error && !run) {
    return error.status === 404 || error.code === "INVALID_ARGUMENT"
      ? <NotFoundPage what="run" message={`Run ${runId} does not exist.`} />
      : <ErrorBox error={error} />;
  }
  if (!run) return <p class="muted">Loading…</p>;
  const info = run.info;
  const tags = run.data.tags;
  const orch = orchestrator(tags);
  const deleted = info.lifecycle_stage !== "active";
  const canRestore = perm && perm.permission === "MANAGE";
  const params = Object.entries(run.data.params).sort(([a], [b]) => a.localeCompare(b));
  const metrics = shownKeys.slice(0, TABLE_ROWS).map((k) => [k, run.data.metrics[k]]);
  return (
    <section>
      <p class="crumbs"><Link href="/">Experiments</Link> › <Link href={`/experiments/${info.experiment_id}`}>{experiment ? experiment.name : info.experiment_id}</Link> ›</p>
      <h1 data-testid="run-name">{info.run_name || info.run_id}</h1>
      {deleted && (
        <div class="banner" role="status" data-testid="deleted-message">This run was deleted.
          {canRestore && <button type="button" onClick={async () => { await api.restoreRun(runId); reload(); }}>Restore run</button>}
        </div>
      )}
      <dl class="facts" data-testid="run-info">
        <dt>Run ID</dt><dd>{info.run_id}</dd>
        <dt>Status</dt><dd><span class={`status status-${info.status}`}>{info.status}</span></dd>
        <dt>Started</dt><dd>{fmtTime(info.start_time)}</dd>
        <dt>Duration</dt><dd>{fmtDuration(info.start_time, info.end_time)}</dd>
        <dt>User</dt><dd>{info.user_id}</dd>
        <dt>Source</dt><dd>{tags["mlflow.source.name"] || ""}</dd>
        {orch && <><dt>Orchestrator</dt><dd>{safeUrl(orch.url) ? <a href={safeUrl(orch.url)} rel="noopener noreferrer">{orch.kind} {orch.label}</a> : `${orch.kind} ${orch.label}`}</dd></>}
        {info.parent_run_id && <><dt>Parent run</dt><dd><Link href={`/runs/${info.parent_run_id}`}>{info.parent_run_id}</Link></dd></>}
        <dt>Artifacts</dt><dd class="clip">{info.artifact_uri}</dd>
      </dl>
      <div class="columns">
        <KeyValueTable title={`Parameters (${params.length})`} entries={params} testId="params-table" />
        <div>
          {metricKeys.length > 10 && (
            <div class="toolbar"><label for="metric-filter">Find metrics</label>
              <input id="metric-filter" type="search" value={metricFilter} onInput={(e) => setMetricFilter(e.currentTarget.value)} /></div>
          )}
          <KeyValueTable title={`Metrics (${metricKeys.length})`} entries={metrics} testId="metrics-table" numeric />
          {shownKeys.length > TABLE_ROWS && <p class="muted">{shownKeys.length - TABLE_ROWS} more: narrow with Find metrics.</p>}
        </div>
      </div>
      <h2>Charts</h2>
      <div class="charts">
        {chartKeys.map((k) => <MetricChart key={k} runId={runId} metricKey={k} initial={histories[k]} />)}
      </div>
      {shownKeys.length > chartCount && <button type="button" onClick={() => setChartCount(chartCount + CHARTS)}>Show {Math.min(CHARTS, shownKeys.length - chartCount)} more charts (of {shownKeys.length})</button>}
      <h2>Tags</h2>
      <KeyValueTable title={`Tags (${Object.keys(tags).length})`} entries={Object.entries(tags).sort(([a], [b]) => a.localeCompare(b))} testId="tags-table" />
      <h2>Datasets</h2>
      <table class="grid" data-testid="datasets-table">
        <thead><tr><th scope="col">Name</th><th scope="col">Digest</th><th scope="col">Context</th><th scope="col">Source</th></tr></thead>
        <tbody>
          {run.inputs.dataset_inputs.map((d, i) => (
            <tr key={i}><td>{d.dataset.name}</td><td>{d.dataset.digest}</td>
              <td>{(d.tags || {})["mlflow.data.context"] || ""}</td><td class="clip">{d.dataset.source}</td></tr>
          ))}
          {run.inputs.dataset_inputs.length === 0 && <tr><td colSpan={4} class="muted">None</td></tr>}
        </tbody>
      </table>
      <h2>Model versions</h2>
      <table class="grid" data-testid="versions-table">
        <thead><tr><th scope="col">Model</th><th scope="col">Version</th><th scope="col">Aliases</th>
          <th scope="col">Stage</th><th scope="col">Source</th></tr></thead>
        <tbody>
          {(versions || []).map((v) => (
            <tr key={`${v.name}/${v.version}`}><td><Link href={modelHref(v.name)}>{v.name}</Link></td>
              <td class="num"><Link href={modelHref(v.name, `/versions/${v.version}`)}>{v.version}</Link></td>
              <td>{(v.aliases || []).map((a) => "@" + a).join(", ")}</td><td>{stageName(v.current_stage)}</td>
              <td class="clip">{v.source}</td></tr>
          ))}
          {versions && versions.length === 0 && <tr><td colSpan={5} class="muted">None registered from this run</td></tr>}
        </tbody>
      </table>
      <h2>Artifacts</h2>
      <ArtifactBrowser runId={runId} />
    </section>
  );
}
