// Registered models: aliases, stages, latest version and the last promotion; search by name or tag.
import { useState } from "preact/hooks";
import { api, containsPattern, quoteValue } from "../api.js";
import { fmtTime, stageName } from "../format.js";
import { Link, modelHref } from "../router.jsx";
import { useSearch } from "../components/useSearch.js";
import { targetLabel, verdictOf } from "../components/Verdicts.jsx";
import { ErrorBox } from "./NotFound.jsx";

// "churn" searches names; "team=risk" (a plain key, then =) searches a tag of the model.
function filterFor(query) {
  const q = query.trim();
  if (!q) return "";
  const tag = /^([A-Za-z_][\w.-]*)\s*=\s*(.*)$/.exec(q);
  if (tag) return `tags.\`${tag[1]}\` = ${quoteValue(tag[2])}`;
  return `name ILIKE ${containsPattern(q)}`;
}

// "v6 (Staging)"; a version in no stage is just "v6".
function versionLabel(v) {
  return stageName(v.current_stage) ? `v${v.version} (${v.current_stage})` : `v${v.version}`;
}

export function ModelsPage() {
  const [query, setQuery] = useState("");
  const [found, error] = useSearch(query, async (q, emit) => {
    const page = await api.searchModels(filterFor(q));
    emit({ items: page.items });
    if (page.items.length) {
      const found = await api.modelSummaries(page.items.map((m) => m.name));
      emit({ summaries: Object.fromEntries(found.items.map((x) => [x.name, x])) });
    }
  });
  const items = found ? found.items : null;
  const summaries = (found && found.summaries) || {};
  return (
    <section>
      <h1>Registered models</h1>
      <div class="toolbar">
        <label for="model-search">Search models</label>
        <input id="model-search" type="search" value={query} placeholder="name, or tag key=value"
          onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ErrorBox error={error} />
      {items && (
        <div class="table-wide">
        <table class="grid" data-testid="models-table">
          <caption class="sr-only">Registered models</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Aliases</th><th scope="col">Latest versions</th>
            <th scope="col">Gates (latest verdict)</th><th scope="col">Last promotion</th><th scope="col">Updated</th></tr></thead>
          <tbody>
            {items.map((m) => {
              const sum = summaries[m.name];
              const p = sum && sum.last_promotion;
              return (
                <tr key={m.name}>
                  <td><Link href={modelHref(m.name)}>{m.name}</Link></td>
                  <td>{Object.entries(m.aliases || {}).map(([a, v]) => `@${a} → v${v}`).join(", ")}</td>
                  <td class="wrap" data-testid="latest-versions">{(m.latest_versions || []).map(versionLabel).join(", ")}</td>
                  <td class="wrap" data-testid="model-gates">{sum ? sum.gates.map((g) => (
                    <div key={g.target}><strong>{g.target}</strong>: {g.rules.join("; ")}
                      {g.last ? <> <span class={`verdict verdict-${verdictOf(g.last)}`}>{verdictOf(g.last)}</span> v{g.last.to_version ?? g.last.version}</> : <span class="muted"> no verdict yet</span>}</div>
                  )) : ""}</td>
                  <td class="wrap">{p ? `v${p.to_version} to ${targetLabel(p)}${p.override ? " (override)" : ""} by ${p.actor || "?"}, ${fmtTime(p.timestamp)}` : ""}</td>
                  <td>{fmtTime(m.last_updated_timestamp)}</td>
                </tr>
              );
            })}
            {items.length === 0 && <tr><td colSpan={6} class="muted">No models match.</td></tr>}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
}
