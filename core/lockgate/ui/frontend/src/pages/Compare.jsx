// Compare up to 1,000 runs: a table that marks what differs, overlaid metric charts,
// parallel coordinates and a scatter of any two values.
import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtValue, num } from "../format.js";
import { Link } from "../router.jsx";
import { LineChart, ParallelCoords, Scatter } from "../components/Chart.jsx";
import { Spacer, useVirtual } from "../components/VirtualRows.jsx";
import { ErrorBox } from "./NotFound.jsx";

const MAX_RUNS = 1000;
const MAX_COLUMNS = 100;

async function loadRuns(ids) {
  const exps = await api.searchExperiments({ max_results: 50000, view_type: "ALL" });
  const expIds = exps.items.map((e) => e.experiment_id);
  // Chunks of 250 ids go out together: the server answers them on parallel threads.
  const chunks = [];
  for (let i = 0; i < ids.length; i += 250) chunks.push(ids.slice(i, i + 250));
  const pages = await Promise.all(chunks.map((chunk) => {
    const filter = `attributes.run_id IN (${chunk.map((id) => `'${id.replace(/[^0-9a-fA-F]/g, "")}'`).join(", ")})`;
    return api.searchRuns({ experiment_ids: expIds, filter_string: filter, max_results: 1000, view_type: "ALL" });
  }));
  const found = pages.flatMap((page) => page.items);
  const byId = new Map(found.map((r) => [r.info.run_id, r]));
  return ids.map((id) => byId.get(id)).filter(Boolean);
}

// Every param and metric key of the runs, in one pass over their values (not one pass over the
// runs per key: 1,000 runs over 4,000 keys made that 4,000,000 lookups): whether the runs differ
// on it (a run lacking it differs from one having it) and whether any value is a number.
function columnsOf(runs) {
  const out = [];
  for (const kind of ["params", "metrics"]) {
    const seen = new Map();
    for (const r of runs) {
      for (const [key, v] of Object.entries(r.data[kind])) {
        const c = seen.get(key);
        if (!c) seen.set(key, { count: 1, first: v, diff: false, numeric: num(v) !== null });
        else {
          c.count += 1;
          if (v !== c.first) c.diff = true;
          if (!c.numeric && num(v) !== null) c.numeric = true;
        }
      }
    }
    [...seen.keys()].sort().forEach((key) => {
      const c = seen.get(key);
      out.push({ id: `${kind}:${key}`, kind, key, label: key, diff: c.diff || c.count < runs.length, numeric: c.numeric });
    });
  }
  return out;
}

function CompareTable({ runs, columns }) {
  const { ref, start, end } = useVirtual(runs.length);
  const cols = columns.length + 1;
  return (
    <div class="table-scroll" ref={ref}>
      <table class="grid" data-testid="compare-table">
        <caption class="sr-only">Compared runs; highlighted columns differ between runs</caption>
        <thead><tr><th scope="col">Run</th>
          {columns.map((c) => <th scope="col" key={c.id} class={c.diff ? "diff" : ""} data-differs={c.diff ? "true" : "false"}>{c.kind === "params" ? "param " : "metric "}{c.key}</th>)}</tr></thead>
        <tbody>
          <Spacer rows={start} cols={cols} />
          {runs.slice(start, end).map((r) => (
            <tr key={r.info.run_id}>
              <th scope="row"><Link href={`/runs/${r.info.run_id}`}>{r.info.run_name || r.info.run_id}</Link></th>
              {columns.map((c) => {
                const v = r.data[c.kind][c.key];
                return <td key={c.id} class={`${c.diff ? "diff" : ""} ${c.kind === "metrics" ? "num" : ""}`}>{c.kind === "metrics" ? fmtValue(v) : v ?? ""}</td>;
              })}
            </tr>
          ))}
          <Spacer rows={runs.length - end} cols={cols} />
        </tbody>
      </table>
    </div>
  );
}

const MAX_OPTIONS = 200;

// A <select> over possibly thousands of keys: at most MAX_OPTIONS options are in the DOM (the
// chosen one always), with a box to narrow them. 1,000 runs over 2,000 keys made three plain
// selects of 10,000 options, most of the compare page's 4 s of browser work.
function KeySelect({ id, label, value, options, onChange }) {
  const [q, setQ] = useState("");
  const shown = useMemo(() => {
    const f = q.toLowerCase();
    const out = options.filter((o) => !f || o.text.toLowerCase().includes(f)).slice(0, MAX_OPTIONS);
    const cur = options.find((o) => o.value === value);
    return cur && !out.includes(cur) ? [cur, ...out] : out;
  }, [options, q, value]);
  return (
    <>
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {shown.map((o) => <option key={o.value} value={o.value}>{o.text}</option>)}
      </select>
      {options.length > MAX_OPTIONS && <input type="search" class="narrow" aria-label={`Find ${label.toLowerCase()} keys`}
        placeholder={`${options.length} keys: type to find`} value={q} onInput={(e) => setQ(e.currentTarget.value)} />}
    </>
  );
}

function OverlayChart({ runs, metricKeys }) {
  const [key, setKey] = useState(metricKeys[0] || "");
  const [xMode, setXMode] = useState("step");
  const [logY, setLogY] = useState(false);
  const [smoothing, setSmoothing] = useState(0);
  const [range, setRange] = useState(null);
  const [series, setSeries] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!key) return;
    const points = runs.length > 200 ? 100 : runs.length > 20 ? 400 : 1000;
    const body = { run_ids: runs.map((r) => r.info.run_id), keys: [key], x: xMode === "step" ? "step" : "timestamp", max_points: points };
    if (range) Object.assign(body, range);
    api.sampled(body).then((r) => { setSeries(r.series); setError(null); }).catch(setError);
  }, [key, xMode, range, runs]);
  useEffect(() => setRange(null), [key, xMode]);
  const metricOptions = useMemo(() => metricKeys.map((k) => ({ value: k, text: k })), [metricKeys]);
  const names = useMemo(() => new Map(runs.map((r) => [r.info.run_id, r.info.run_name || r.info.run_id])), [runs]);
  const lines = useMemo(() => (series || []).filter((s) => s.points.length).map((s) => ({ label: names.get(s.run_id), points: s.points })), [series]);
  const zoom = (lo, hi) => {
    if (xMode === "relative") return;
    const f = xMode === "wall" ? 1000 : 1;
    setRange({ start: Math.floor(lo * f), end: Math.ceil(hi * f) });
  };
  return (
    <section>
      <h2>Metric over time</h2>
      <div class="toolbar">
        <KeySelect id="cmp-metric" label="Metric" value={key} options={metricOptions} onChange={setKey} />
        <label for="cmp-x">X axis</label>
        <select id="cmp-x" value={xMode} onChange={(e) => setXMode(e.currentTarget.value)}>
          <option value="step">Step</option><option value="wall">Wall time</option><option value="relative">Relative time</option>
        </select>
        <label><input type="checkbox" checked={logY} onChange={(e) => setLogY(e.currentTarget.checked)} /> Log scale</label>
        <label for="cmp-smooth">Smoothing</label>
        <input id="cmp-smooth" type="range" min="0" max="0.99" step="0.01" value={smoothing} onInput={(e) => setSmoothing(Number(e.currentTarget.value))} />
        {range && <button type="button" onClick={() => setRange(null)}>Reset zoom</button>}
      </div>
      <ErrorBox error={error} />
      {lines.length > 0 && <LineChart series={lines} xMode={xMode} logY={logY} smoothing={smoothing} height={320} onZoom={zoom} testId="compare-chart" />}
      {series && lines.length === 0 && <p class="muted">No run has this metric.</p>}
    </section>
  );
}

export function ComparePage({ params }) {
  const ids = useMemo(() => [...new Set((params.get("runs") || "").split(",").map((s) => s.trim()).filter(Boolean))], [params]);
  const [runs, setRuns] = useState(null);
  const [error, setError] = useState(null);
  const [onlyDiff, setOnlyDiff] = useState(false);
  const [axes, setAxes] = useState(null);
  const [sx, setSx] = useState("");
  const [sy, setSy] = useState("");
  useEffect(() => {
    if (!ids.length) return;
    if (ids.length > MAX_RUNS) { setError(new Error(`At most ${MAX_RUNS} runs can be compared; the link names ${ids.length}.`)); return; }
    loadRuns(ids).then(setRuns).catch(setError);
  }, [ids]);
  const columns = useMemo(() => (runs ? columnsOf(runs) : []), [runs]);
  const numericCols = useMemo(() => columns.filter((c) => c.numeric), [columns]);
  useEffect(() => {
    if (!numericCols.length || axes) return;
    const pick = [...numericCols.filter((c) => c.kind === "params" && c.diff).slice(0, 4), ...numericCols.filter((c) => c.kind === "metrics").slice(0, 3)];
    setAxes(pick.map((c) => c.id));
    setSx((pick[0] || numericCols[0]).id);
    setSy((pick[pick.length - 1] || numericCols[0]).id);
  }, [numericCols]);
  const metricKeys = useMemo(() => columns.filter((c) => c.kind === "metrics").map((c) => c.key), [columns]);
  const numericOptions = useMemo(() => numericCols.map((c) => ({ value: c.id, text: `${c.kind} ${c.key}` })), [numericCols]);
  // Recomputed only when the runs or the chosen axes change, so typing or ticking elsewhere
  // does not redraw 1,000 polylines and scatter points.
  const derived = useMemo(() => {
    if (!runs) return {};
    const byId = new Map(numericCols.map((c) => [c.id, c]));
    const axisCols = (axes || []).map((id) => byId.get(id)).filter(Boolean);
    const pcRows = runs.map((r) => ({ values: Object.fromEntries(axisCols.map((c) => [c.id, num(r.data[c.kind][c.key])])) }));
    const cx = byId.get(sx), cy = byId.get(sy);
    const scatter = cx && cy ? runs.map((r) => ({ x: num(r.data[cx.kind][cx.key]), y: num(r.data[cy.kind][cy.key]) })) : [];
    return { axisCols, pcRows, cx, cy, scatter };
  }, [runs, numericCols, axes, sx, sy]);
  if (!ids.length) return <section><h1>Compare runs</h1><p>Select runs in an experiment's table, then choose Compare.</p></section>;
  if (error) return <section><h1>Compare runs</h1><ErrorBox error={error} /></section>;
  if (!runs) return <p class="muted">Loading…</p>;
  const missing = ids.length - runs.length;
  // Differing columns first, and at most MAX_COLUMNS of them: thousands of keys would make
  // every visible row thousands of cells wide.
  const candidates = onlyDiff ? columns.filter((c) => c.diff) : [...columns.filter((c) => c.diff), ...columns.filter((c) => !c.diff)];
  const shown = candidates.slice(0, MAX_COLUMNS);
  const { axisCols, pcRows, cx, cy, scatter } = derived;
  return (
    <section>
      <h1>Compare {runs.length} runs</h1>
      {missing > 0 && <p class="error" role="alert">{missing} of the linked runs do not exist or are not visible to you.</p>}
      <div class="toolbar"><label><input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.currentTarget.checked)} /> Only columns that differ</label></div>
      {candidates.length > shown.length && <p class="muted">Showing {shown.length} of {candidates.length} columns (those that differ first).</p>}
      <CompareTable runs={runs} columns={shown} />
      {metricKeys.length > 0 && <OverlayChart runs={runs} metricKeys={metricKeys} />}
      <section>
        <h2>Parallel coordinates</h2>
        <fieldset class="axes"><legend>Axes</legend>
          {numericCols.slice(0, 200).map((c) => (
            <label key={c.id}><input type="checkbox" checked={(axes || []).includes(c.id)} onChange={() => {
              const cur = axes || [];
              setAxes(cur.includes(c.id) ? cur.filter((x) => x !== c.id) : [...cur, c.id]);
            }} /> {c.kind === "params" ? "param" : "metric"} {c.key}</label>
          ))}
        </fieldset>
        <ParallelCoords axes={axisCols} rows={pcRows} testId="parallel-coords" />
      </section>
      <section>
        <h2>Scatter</h2>
        <div class="toolbar">
          <KeySelect id="sc-x" label="X" value={sx} options={numericOptions} onChange={setSx} />
          <KeySelect id="sc-y" label="Y" value={sy} options={numericOptions} onChange={setSy} />
        </div>
        {cx && cy && <Scatter points={scatter} xLabel={cx.key} yLabel={cy.key} testId="scatter" />}
      </section>
    </section>
  );
}
