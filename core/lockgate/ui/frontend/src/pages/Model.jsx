// One registered model: its gates in words (with their history), aliases, and every version
// with the verdict each last got per guarded alias or stage. Live: new events re-read it.
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtTime, stageName } from "../format.js";
import { Link, modelHref } from "../router.jsx";
import { useEventCursor } from "../components/useEventCursor.js";
import { targetLabel } from "../components/Verdicts.jsx";
import { ErrorBox, NotFoundPage } from "./NotFound.jsx";

export function GatePolicies({ gates }) {
  if (!gates.length) return <p class="muted" data-testid="gate-policies">No alias or stage of this model is guarded.</p>;
  return (
    <ul class="gates" data-testid="gate-policies">
      {gates.map((g) => {
        const [current, ...older] = g.history;
        const label = targetLabel(g);
        return (
          <li key={label} data-testid={`gate-${label}`}>
            <strong>{label}</strong>: <span data-testid="policy-words">{current.rules.length ? current.rules.join("; ") : "no rules (unguarded)"}</span>
            <span class="muted"> (policy v{current.policy_version} by {current.created_by || "?"}, {fmtTime(current.created_at)})</span>
            {older.length > 0 && (
              <details><summary>Policy history ({older.length} earlier)</summary>
                <ul>{older.map((h) => (
                  <li key={h.policy_version}>v{h.policy_version}: {h.rules.join("; ") || "no rules"} <span class="muted">by {h.created_by || "?"}, {fmtTime(h.created_at)}</span></li>
                ))}</ul>
              </details>
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function ModelPage({ name }) {
  const [model, setModel] = useState(null);
  const [versions, setVersions] = useState(null);
  const [overview, setOverview] = useState({ gates: [], verdicts: [] });
  const [error, setError] = useState(null);
  const cursor = useEventCursor(name);
  useEffect(() => {
    let live = true;
    Promise.all([api.model(name), api.versions(name), api.gateOverview(name)]).then(([m, v, o]) => {
      if (!live) return;
      setModel(m); setVersions(v.items); setOverview(o); setError(null);
    }).catch((err) => { if (live) setError(err); });
    return () => { live = false; };
  }, [name, cursor]);

  if (error && !model) {
    return error.status === 404
      ? <NotFoundPage what="model" message={`Registered model "${name}" does not exist.`} />
      : <ErrorBox error={error} />;
  }
  if (!model) return <p class="muted">Loading…</p>;
  const guarded = overview.gates.filter((g) => g.history.length && g.history[0].rules.length).map(targetLabel);
  const verdict = {};
  overview.verdicts.forEach((v) => { verdict[`${v.version} ${v.target}`] = v; });
  return (
    <section>
      <p class="crumbs"><Link href="/models">Models</Link> ›</p>
      <h1 data-testid="model-name">{model.name}</h1>
      {model.description && <p>{model.description}</p>}
      <p><Link href={modelHref(name, "/history")} data-testid="history-link">Promotion history</Link></p>
      <dl class="facts" data-testid="model-info">
        <dt>Aliases</dt><dd data-testid="model-aliases">{Object.entries(model.aliases).map(([a, v]) => `@${a} → v${v}`).join(", ") || "none"}</dd>
        <dt>Tags</dt><dd>{Object.entries(model.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}</dd>
        <dt>Created</dt><dd>{fmtTime(model.creation_timestamp)}</dd>
      </dl>
      <h2>Gates</h2>
      <GatePolicies gates={overview.gates} />
      <h2>Versions</h2>
      <ErrorBox error={error} />
      <table class="grid" data-testid="model-versions">
        <thead><tr><th scope="col">Version</th><th scope="col">Source run</th><th scope="col">Status</th>
          <th scope="col">Stage</th><th scope="col">Aliases</th><th scope="col">Tags</th>
          <th scope="col">Created by</th><th scope="col">Created</th>
          {guarded.map((t) => <th scope="col" key={t}>Gate {t}</th>)}</tr></thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} data-version={v.version}>
              <td><Link href={modelHref(name, `/versions/${v.version}`)}>v{v.version}</Link></td>
              <td>{v.run_id ? <Link href={`/runs/${v.run_id}`}>{v.run_id.slice(0, 8)}</Link> : ""}</td>
              <td>{v.status}</td><td>{stageName(v.current_stage)}</td>
              <td>{v.aliases.map((a) => "@" + a).join(", ")}</td>
              <td class="clip">{Object.entries(v.tags).map(([k, x]) => `${k}=${x}`).join(", ")}</td>
              <td>{v.user_id}</td><td>{fmtTime(v.creation_timestamp)}</td>
              {guarded.map((t) => {
                const x = verdict[`${v.version} ${t}`];
                return <td key={t} data-testid={`verdict-${t}`}>{x ? <span class={`verdict verdict-${x.verdict}`} title={`${x.actor}, ${fmtTime(x.timestamp)}`}>{x.verdict}</span> : ""}</td>;
              })}
            </tr>
          ))}
          {versions.length === 0 && <tr><td colSpan={8 + guarded.length} class="muted">No versions yet</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
