// The runs table of one experiment: server-side paging, sorting and filtering, a column
// chooser over any number of keys, virtualized rows, nested runs under their parent.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, quoteKey } from "../api.js";
import { fmtDuration, fmtTime, fmtValue, orchestrator, safeUrl } from "../format.js";
import { Link, navigate } from "../router.jsx";
import { ROW_HEIGHT, scrollRowIntoView, Spacer, useVirtual } from "../components/VirtualRows.jsx";
import { ErrorBox, NotFoundPage } from "./NotFound.jsx";

// The first page of a new sort or filter is small (a few screens: it is what the user waits
// for); the pages fetched while scrolling are larger.
const FIRST_PAGE = 50;
const PAGE = 200;
const SYSTEM_TAGS = [
  "mlflow.source.name", "mlflow.user", "lockgate.orchestrator", "lockgate.airflow.dag_id",
  "lockgate.airflow.task_id", "lockgate.airflow.url", "lockgate.prefect.flow_run_id",
  "lockgate.prefect.flow_name", "lockgate.prefect.flow_run_url", "lockgate.dagster.run_id",
  "lockgate.dagster.asset_key", "lockgate.dagster.url",
];
const ATTRS = [
  { id: "run_name", label: "Run", sort: "attributes.run_name" },
  { id: "status", label: "Status", sort: "attributes.status" },
  { id: "start_time", label: "Started", sort: "attributes.start_time" },
  { id: "duration", label: "Duration", sort: null },
  { id: "user_id", label: "User", sort: "attributes.user_id" },
  { id: "source", label: "Source", sort: null },
  { id: "orchestrator", label: "Orchestrator", sort: null },
];

function colId(c) { return `${c.kind}:${c.key}`; }
function sortKey(c) { return quoteKey(c.kind, c.key); }

function parseColumns(text) {
  if (!text) return null;
  try {
    const list = JSON.parse(text);
    return Array.isArray(list) ? list.filter((c) => c && ["params", "metrics", "tags"].includes(c.kind) && typeof c.key === "string") : null;
  } catch (e) { return null; }
}

function ColumnChooser({ experimentId, columns, setColumns, onClose }) {
  const [q, setQ] = useState("");
  const [keys, setKeys] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      api.keys(experimentId, q, 200).then((k) => { if (live) { setKeys(k); setError(null); } })
        .catch((e) => { if (live) setError(e); });
    }, 120);
    return () => { live = false; clearTimeout(t); };
  }, [q]);
  const chosen = new Set(columns.map(colId));
  const toggle = (kind, key) => {
    const id = `${kind}:${key}`;
    setColumns(chosen.has(id) ? columns.filter((c) => colId(c) !== id) : [...columns, { kind, key }]);
  };
  return (
    <div class="chooser" role="dialog" aria-label="Choose columns">
      <div class="toolbar">
        <label for="col-search">Find keys</label>
        <input id="col-search" type="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} autoFocus />
        <button type="button" onClick={onClose}>Done</button>
      </div>
      <ErrorBox error={error} />
      {keys && (
        <div class="chooser-lists">
          {["metrics", "params", "tags"].map((kind) => (
            <fieldset key={kind}>
              <legend>{kind} ({keys[kind].length}{keys.truncated ? "+" : ""})</legend>
              <ul>
                {keys[kind].map((key) => (
                  <li key={key}><label><input type="checkbox" checked={chosen.has(`${kind}:${key}`)}
                    onChange={() => toggle(kind, key)} /> {key}</label></li>
                ))}
              </ul>
            </fieldset>
          ))}
          {keys.truncated && <p class="muted">More keys match: type to narrow the list.</p>}
        </div>
      )}
    </div>
  );
}

function cellValue(run, c) {
  const v = run.data[c.kind][c.key];
  return c.kind === "metrics" ? fmtValue(v) : v === undefined ? "" : String(v);
}

function flatten(runs, collapsed) {
  const ids = new Set(runs.map((r) => r.info.run_id));
  const children = new Map();
  const top = [];
  for (const r of runs) {
    const p = r.info.parent_run_id;
    if (p && ids.has(p) && p !== r.info.run_id) {
      if (!children.has(p)) children.set(p, []);
      children.get(p).push(r);
    } else top.push(r);
  }
  const out = [];
  const walk = (r, depth, seen) => {
    if (seen.has(r.info.run_id)) return;
    seen.add(r.info.run_id);
    const kids = children.get(r.info.run_id) || [];
    out.push({ run: r, depth, kids: kids.length });
    if (kids.length && collapsed.has(r.info.run_id)) return;
    kids.forEach((k) => walk(k, depth + 1, seen));
  };
  const seen = new Set();
  top.forEach((r) => walk(r, 0, seen));
  return out;
}

export function RunsPage({ experimentId, params }) {
  const [experiment, setExperiment] = useState(null);
  const [expError, setExpError] = useState(null);
  const [perm, setPerm] = useState(null);
  const [filterText, setFilterText] = useState(params.get("filter") || "");
  const [filter, setFilter] = useState(params.get("filter") || "");
  const [order, setOrder] = useState(params.get("sort") || "attributes.start_time DESC");
  const [columns, setColumns] = useState(() => parseColumns(params.get("columns")));
  const [runs, setRuns] = useState([]);
  const [token, setToken] = useState(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState(null);
  const [selected, setSelected] = useState(() => new Set());
  // Parents start collapsed: expanded ones are tracked by absence from this set's complement.
  const [expanded, setExpanded] = useState(() => new Set());
  const [chooser, setChooser] = useState(false);
  const [focus, setFocus] = useState(0);
  const gen = useRef(0);

  useEffect(() => {
    api.experiment(experimentId).then(setExperiment).catch(setExpError);
    api.permissions(experimentId).then(setPerm).catch(() => setPerm(null));
  }, [experimentId]);

  // Default columns: the first few metric and param keys of the experiment.
  // (fetched alongside the experiment, not after it: one round trip less before the first row)
  useEffect(() => {
    if (columns !== null) return;
    api.keys(experimentId, "", 6).then((k) => setColumns([
      ...k.metrics.slice(0, 4).map((key) => ({ kind: "metrics", key })),
      ...k.params.slice(0, 4).map((key) => ({ kind: "params", key })),
    ])).catch(() => setColumns([]));
  }, [experimentId]);

  const projection = useMemo(() => columns && ({
    params: columns.filter((c) => c.kind === "params").map((c) => c.key),
    metrics: columns.filter((c) => c.kind === "metrics").map((c) => c.key),
    tags: [...SYSTEM_TAGS, ...columns.filter((c) => c.kind === "tags").map((c) => c.key)],
  }), [columns]);

  const load = async (pageToken) => {
    const mine = ++gen.current;
    setLoading(true);
    try {
      const page = await api.searchRuns({
        experiment_ids: [experimentId], filter_string: filter, order_by: order ? [order] : [],
        max_results: pageToken ? PAGE : FIRST_PAGE, page_token: pageToken || null, columns: projection,
      });
      if (mine !== gen.current) return;
      setRuns((prev) => (pageToken ? [...prev, ...page.items] : page.items));
      setToken(page.next_page_token);
      setError(null);
    } catch (err) {
      if (mine !== gen.current) return;
      // A bad filter or sort leaves the last good results on screen, with the error above them.
      setError(err);
    } finally {
      if (mine === gen.current) setLoading(false);
    }
  };

  // Runs are asked for alongside the experiment, not after it: a deleted experiment's page
  // shows no rows whatever they are.
  const active = !experiment || experiment.lifecycle_stage === "active";
  useEffect(() => {
    if (!projection || !active) return;
    const qs = new URLSearchParams();
    if (filter) qs.set("filter", filter);
    if (order) qs.set("sort", order);
    qs.set("columns", JSON.stringify(columns));
    history.replaceState(null, "", `/experiments/${encodeURIComponent(experimentId)}?${qs}`);
    load(null);
  }, [filter, order, projection, active]);

  const rows = useMemo(() => {
    const collapsed = new Set(runs.map((r) => r.info.run_id).filter((id) => !expanded.has(id)));
    return flatten(runs, collapsed);
  }, [runs, expanded]);
  const cols = ATTRS.length + 1 + (columns ? columns.length : 0);
  const { ref, start, end, view } = useVirtual(rows.length);

  useEffect(() => {
    // The next page comes while more than a screen of rows is still below the view.
    if (token && !loading && view.top + 2 * view.height > rows.length * ROW_HEIGHT) load(token);
  }, [view, token, loading, rows.length]);

  if (expError) {
    return expError.status === 404
      ? <NotFoundPage what="experiment" message={`Experiment ${experimentId} does not exist.`} />
      : <ErrorBox error={expError} />;
  }
  if (!experiment) return <p class="muted">Loading…</p>;
  if (experiment.lifecycle_stage !== "active") {
    const canRestore = perm && perm.permission === "MANAGE";
    return (
      <section class="notfound">
        <h1>{experiment.name}</h1>
        <p data-testid="deleted-message">This experiment was deleted.</p>
        {canRestore && <button type="button" onClick={async () => {
          await api.restoreExperiment(experimentId);
          setExperiment(await api.experiment(experimentId));
        }}>Restore experiment</button>}
      </section>
    );
  }

  const sortBy = (key) => {
    if (!key) return;
    const [cur, dir] = order.split(/ (?=ASC$|DESC$)/);
    setOrder(cur === key && dir !== "ASC" ? `${key} ASC` : `${key} DESC`);
  };
  const sortState = (key) => {
    const [cur, dir] = order.split(/ (?=ASC$|DESC$)/);
    if (cur !== key) return "none";
    return dir === "ASC" ? "ascending" : "descending";
  };
  const toggleSel = (id) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id); else if (next.size < 1000) next.add(id);
    setSelected(next);
  };
  const toggleExpand = (id) => {
    const next = new Set(expanded);
    if (next.has(id)) next.delete(id); else next.add(id);
    setExpanded(next);
  };
  const onKey = (e) => {
    const max = rows.length - 1;
    let next = focus;
    const row = rows[focus];
    if (e.key === "ArrowDown") next = Math.min(max, focus + 1);
    else if (e.key === "ArrowUp") next = Math.max(0, focus - 1);
    else if (e.key === "Home") next = 0;
    else if (e.key === "End") next = max;
    else if (e.key === "PageDown") next = Math.min(max, focus + 15);
    else if (e.key === "PageUp") next = Math.max(0, focus - 15);
    else if (e.key === "Enter" && row) { e.preventDefault(); navigate(`/runs/${row.run.info.run_id}`); return; }
    else if (e.key === " " && row) { e.preventDefault(); toggleSel(row.run.info.run_id); return; }
    else if ((e.key === "ArrowRight" || e.key === "ArrowLeft") && row && row.kids) {
      const open = expanded.has(row.run.info.run_id);
      if ((e.key === "ArrowRight") !== open) toggleExpand(row.run.info.run_id);
      e.preventDefault();
      return;
    } else return;
    e.preventDefault();
    setFocus(next);
    scrollRowIntoView(ref.current, next);
    requestAnimationFrame(() => {
      const el = ref.current && ref.current.querySelector(`tr[data-index="${next}"]`);
      if (el) el.focus();
    });
  };
  const compareHref = `/compare?runs=${[...selected].join(",")}`;
  const header = (label, key, extraClass) => (
    <th scope="col" aria-sort={key ? sortState(key) : undefined} class={extraClass}>
      {key ? <button type="button" class="sort" onClick={() => sortBy(key)}>{label}
        <span aria-hidden="true">{sortState(key) === "ascending" ? " ▲" : sortState(key) === "descending" ? " ▼" : ""}</span></button>
        : label}
    </th>
  );

  return (
    <section>
      <h1>{experiment.name}</h1>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); setFilter(filterText.trim()); }}>
        <label for="run-filter">Filter runs</label>
        <input id="run-filter" class="wide" value={filterText} aria-describedby="filter-error"
          placeholder="metrics.loss < 0.5 and params.depth = '6'" onInput={(e) => setFilterText(e.currentTarget.value)} />
        <button type="submit">Search</button>
        <button type="button" onClick={() => setChooser(!chooser)} aria-expanded={chooser}>Columns ({columns ? columns.length : 0})</button>
        <Link href={compareHref} class={`button${selected.size < 1 ? " disabled" : ""}`}
          aria-disabled={selected.size < 1 ? "true" : undefined}>Compare ({selected.size})</Link>
      </form>
      <div id="filter-error" aria-live="polite">{error && <p class="error" role="alert" data-testid="runs-error">{error.message}</p>}</div>
      {chooser && columns && <ColumnChooser experimentId={experimentId} columns={columns} setColumns={setColumns} onClose={() => setChooser(false)} />}
      <div class="table-scroll" ref={ref} data-testid="runs-scroll">
        <table class="grid runs" data-testid="runs-table" onKeyDown={onKey}>
          <caption class="sr-only">Runs of {experiment.name}; arrow keys move, Enter opens, Space selects</caption>
          <thead>
            <tr>
              <th scope="col"><span class="sr-only">Select</span></th>
              {ATTRS.map((a) => header(a.label, a.sort))}
              {(columns || []).map((c) => header(`${c.key}`, sortKey(c), `kind-${c.kind}`))}
            </tr>
          </thead>
          <tbody>
            <Spacer rows={start} cols={cols} />
            {rows.slice(start, end).map((row, i) => {
              const idx = start + i;
              const r = row.run;
              const id = r.info.run_id;
              const orch = orchestrator(r.data.tags);
              const orchUrl = orch && safeUrl(orch.url);
              return (
                <tr key={id} data-index={idx} data-run-id={id} tabIndex={idx === focus ? 0 : -1}
                  class={selected.has(id) ? "selected" : ""} onFocus={() => setFocus(idx)}>
                  <td><input type="checkbox" aria-label={`Select ${r.info.run_name}`} checked={selected.has(id)}
                    tabIndex={-1} onChange={() => toggleSel(id)} /></td>
                  <td class="name" title={r.info.run_name || id} style={{ paddingLeft: `${0.5 + row.depth * 1.25}rem` }}>
                    {row.kids > 0 && <button type="button" class="twisty" tabIndex={-1} aria-expanded={expanded.has(id)}
                      aria-label={`${expanded.has(id) ? "Collapse" : "Expand"} ${row.kids} child runs`}
                      onClick={() => toggleExpand(id)}>{expanded.has(id) ? "▾" : "▸"}</button>}
                    <Link href={`/runs/${id}`} tabIndex={-1}>{r.info.run_name || id}</Link>
                    {row.kids > 0 && <span class="muted"> ({row.kids})</span>}
                  </td>
                  <td><span class={`status status-${r.info.status}`}>{r.info.status}</span></td>
                  <td>{fmtTime(r.info.start_time)}</td>
                  <td>{fmtDuration(r.info.start_time, r.info.end_time)}</td>
                  <td>{r.info.user_id}</td>
                  <td class="clip">{r.data.tags["mlflow.source.name"] || ""}</td>
                  <td class="clip">{orch ? (orchUrl ? <a href={orchUrl} rel="noopener noreferrer">{orch.kind} {orch.label}</a> : `${orch.kind} ${orch.label}`) : ""}</td>
                  {(columns || []).map((c) => {
                    const v = cellValue(r, c);
                    return <td key={colId(c)} class={c.kind === "metrics" ? "num" : "clip"} title={c.kind === "metrics" ? undefined : v}>{v}</td>;
                  })}
                </tr>
              );
            })}
            <Spacer rows={rows.length - end} cols={cols} />
          </tbody>
        </table>
        {!loading && rows.length === 0 && !error && <p class="muted" data-testid="runs-empty">No runs match.</p>}
      </div>
      <p class="muted" data-testid="runs-count">{runs.length} runs loaded{token ? " (scroll for more)" : ""}{loading ? " — loading…" : ""}</p>
      {token && !loading && <button type="button" onClick={() => load(token)}>Load more</button>}
    </section>
  );
}
