// One model version: where it came from (run, metrics, datasets, MLmodel), every gate verdict it
// got (recorded evaluations, and a fresh dry run per guarded target), its approvals, and the
// actions the caller may take. Every action is one /api/v1 call; the server's gates decide.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtTime, fmtValue, stageName } from "../format.js";
import { Link, modelHref } from "../router.jsx";
import { useEventCursor } from "../components/useEventCursor.js";
import { Uri } from "../components/Uri.jsx";
import { targetLabel, verdictOf, VerdictTable } from "../components/Verdicts.jsx";
import { VersionActions } from "./VersionActions.jsx";
import { ErrorBox, NotFoundPage } from "./NotFound.jsx";

const EVAL_TYPES = "GATE_REJECTED,ALIAS_SET,STAGE_CHANGED";

// "runs:/<id>/path" -> {runId, path}; null for other sources.
function runSource(source) {
  const m = /^runs:\/([0-9a-fA-F]+)\/?(.*)$/.exec(source || "");
  return m ? { runId: m[1], path: m[2].replace(/\/+$/, "") } : null;
}

function Lineage({ lineage, run }) {
  if (!lineage) return null;
  const metrics = run ? Object.entries(run.data.metrics).sort(([a], [b]) => a.localeCompare(b)) : [];
  return (
    <>
      <dl class="facts" data-testid="lineage">
        <dt>Run</dt><dd>{lineage.run_id ? <Link href={`/runs/${lineage.run_id}`}>{lineage.run_name || lineage.run_id}</Link> : "none"}</dd>
        <dt>Run status</dt><dd>{lineage.run_status || ""}</dd>
        <dt>Experiment</dt><dd>{lineage.experiment_id ? <Link href={`/experiments/${lineage.experiment_id}`}>{lineage.experiment_id}</Link> : ""}</dd>
        <dt>Source commit</dt><dd>{lineage.source_commit || "not recorded"}</dd>
        <dt>Datasets</dt><dd>{lineage.datasets.map((d) => `${d.name || ""}${d.digest ? " (" + d.digest + ")" : ""}${d.context ? " [" + d.context + "]" : ""}`).join(", ") || "none recorded"}</dd>
      </dl>
      {metrics.length > 0 && (
        <table class="grid kv" data-testid="version-metrics">
          <caption>Run metrics ({metrics.length})</caption>
          <tbody>{metrics.slice(0, 200).map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td class="num">{fmtValue(v)}</td></tr>)}</tbody>
        </table>
      )}
    </>
  );
}

function MLmodelSummary({ source }) {
  const [summary, setSummary] = useState(undefined);
  useEffect(() => {
    const src = runSource(source);
    if (!src) { setSummary(null); return; }
    api.preview(src.runId, (src.path ? src.path + "/" : "") + "MLmodel")
      .then((p) => setSummary(p.summary || null)).catch(() => setSummary(null));
  }, [source]);
  if (summary === undefined) return null;
  if (!summary) return <p class="muted" data-testid="mlmodel-summary">No MLmodel file readable at this version's source.</p>;
  return (
    <dl class="facts" data-testid="mlmodel-summary">
      <dt>Flavors</dt><dd>{(summary.flavors || []).join(", ")}</dd>
      <dt>Inputs</dt><dd class="clip">{summary.signature_inputs || "no signature"}</dd>
      <dt>Outputs</dt><dd class="clip">{summary.signature_outputs}</dd>
      <dt>Python</dt><dd>{summary.python_version}</dd>
      <dt>Environment</dt><dd>{summary.environment}</dd>
    </dl>
  );
}

// A recorded evaluation: what the gate said when someone moved (or tried to move) this version.
function Evaluation({ event }) {
  const kind = verdictOf(event);
  return (
    <details class="evaluation" data-testid="evaluation" open={kind !== "passed"}>
      <summary><span class={`verdict verdict-${kind}`}>{kind}</span> {targetLabel(event)} by {event.actor || "?"}, {fmtTime(event.timestamp)}
        {event.reason ? ` — “${event.reason}”` : ""}</summary>
      <VerdictTable results={(event.evidence || {}).results} testId="evaluation-verdicts" />
    </details>
  );
}

export function VersionPage({ name, version }) {
  const [mv, setMv] = useState(null);
  const [error, setError] = useState(null);
  const [lineage, setLineage] = useState(null);
  const [run, setRun] = useState(null);
  const [gates, setGates] = useState([]);
  const [evaluations, setEvaluations] = useState([]);
  const [approvals, setApprovals] = useState([]);
  const [dryRuns, setDryRuns] = useState({});
  const [access, setAccess] = useState(null);
  const cursor = useEventCursor(name);
  useEffect(() => { api.modelAccess(name).then(setAccess).catch(() => setAccess(null)); }, [name]);
  useEffect(() => {
    let live = true;
    (async () => {
      try {
        const [v, overview, evals, approved] = await Promise.all([
          api.version(name, version), api.gateOverview(name),
          api.timeline(name, { version, types: EVAL_TYPES, limit: 200 }),
          api.timeline(name, { version, types: "VERSION_APPROVED", limit: 1000 }),
        ]);
        if (!live) return;
        setMv(v); setError(null);
        setGates(overview.gates.filter((g) => g.history.length && g.history[0].rules.length));
        setEvaluations(evals.events.filter((e) => e.evidence));
        setApprovals(approved.events);
        api.lineage(name, version).then((l) => {
          if (!live) return;
          setLineage(l);
          if (l.run_id) api.run(l.run_id).then((r) => live && setRun(r)).catch(() => {});
        }).catch(() => {});
      } catch (err) { if (live) setError(err); }
    })();
    return () => { live = false; };
  }, [name, version, cursor]);
  useEffect(() => {
    // A fresh dry run per guarded target: what a promotion would get now (changes nothing).
    if (!mv || mv.status !== "READY") return;
    let live = true;
    gates.forEach((g) => {
      const body = { version: mv.version, [g.kind]: g.name };
      api.evaluate(name, body).then((d) => live && setDryRuns((x) => ({ ...x, [targetLabel(g)]: d })))
        .catch((err) => live && setDryRuns((x) => ({ ...x, [targetLabel(g)]: { error: err } })));
    });
    return () => { live = false; };
  }, [mv, gates.map(targetLabel).join(" "), cursor]);

  if (error && !mv) {
    return error.status === 404 || error.code === "INVALID_PARAMETER_VALUE" || error.status === 400
      ? <NotFoundPage what="model version" message={`Version ${version} of registered model "${name}" does not exist. ${error.message}`} />
      : <ErrorBox error={error} />;
  }
  if (!mv) return <p class="muted">Loading…</p>;
  const ops = new Set(access && access.registered_model ? access.registered_model.operations : []);
  return (
    <section>
      <p class="crumbs"><Link href="/models">Models</Link> › <Link href={modelHref(name)}>{name}</Link> ›</p>
      <h1 data-testid="version-title">{name} v{mv.version}</h1>
      <dl class="facts" data-testid="version-info">
        <dt>Status</dt><dd>{mv.status}</dd>
        <dt>Stage</dt><dd data-testid="version-stage">{stageName(mv.current_stage) || <span class="muted">no stage</span>}</dd>
        <dt>Aliases</dt><dd data-testid="version-aliases">{mv.aliases.map((a) => "@" + a).join(", ") || "none"}</dd>
        <dt>Tags</dt><dd>{Object.entries(mv.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}</dd>
        <dt>Source</dt><dd><Uri value={mv.source} testId="version-source" /></dd>
        <dt>Created by</dt><dd>{mv.user_id}</dd>
        <dt>Created</dt><dd>{fmtTime(mv.creation_timestamp)}</dd>
        {mv.description && <><dt>Description</dt><dd>{mv.description}</dd></>}
      </dl>
      <VersionActions name={name} mv={mv} gates={gates} ops={ops} approvals={approvals}
        auth={access ? access.auth : true} />
      <h2>Gates now</h2>
      {gates.length === 0 && <p class="muted">No alias or stage of this model is guarded.</p>}
      {gates.map((g) => {
        const d = dryRuns[targetLabel(g)];
        return (
          <div key={targetLabel(g)} data-testid={`dry-run-${targetLabel(g)}`}>
            <h3>{targetLabel(g)}: {d ? (d.error ? "cannot evaluate" : d.passed ? "would pass" : "would be refused") : "…"}</h3>
            {d && d.error && <ErrorBox error={d.error} />}
            {d && !d.error && <VerdictTable results={d.results} testId="dry-run-verdicts" />}
          </div>
        );
      })}
      <h2>Gate evaluations ({evaluations.length})</h2>
      {evaluations.length === 0 && <p class="muted">No gate has judged this version yet.</p>}
      {evaluations.map((e) => <Evaluation key={e.id} event={e} />)}
      <h2>Approvals ({approvals.length})</h2>
      {approvals.length === 0 && <p class="muted" data-testid="approvals">No one has approved this version yet.</p>}
      {approvals.length > 0 && (
        <ul data-testid="approvals">
          {approvals.map((a) => <li key={a.id}>{a.actor} <span class="muted">{fmtTime(a.timestamp)}</span>{a.details && a.details.comment ? `: ${a.details.comment}` : ""}</li>)}
        </ul>
      )}
      <h2>Lineage</h2>
      <Lineage lineage={lineage} run={run} />
      <h2>MLmodel</h2>
      <MLmodelSummary source={mv.source} />
    </section>
  );
}
