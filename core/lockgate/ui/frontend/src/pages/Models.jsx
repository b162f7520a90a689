// Registered models: aliases, stages, latest version and the last promotion; search by name or tag.
import { useEffect, useState } from "preact/hooks";
import { api, quoteValue } from "../api.js";
import { fmtTime } from "../format.js";
import { Link, modelHref } from "../router.jsx";
import { targetLabel } from "../components/Verdicts.jsx";
import { ErrorBox } from "./NotFound.jsx";

// "churn" searches names; "team=risk" searches a tag (key=value) of the model.
function filterFor(query) {
  const q = query.trim();
  if (!q) return "";
  const eq = q.indexOf("=");
  if (eq > 0) {
    const key = q.slice(0, eq).trim();
    const k = /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? key : "`" + key.replace(/`/g, "") + "`";
    return `tags.${k} = ${quoteValue(q.slice(eq + 1).trim())}`;
  }
  return `name ILIKE ${quoteValue("%" + q + "%")}`;
}

export function ModelsPage() {
  const [query, setQuery] = useState("");
  const [items, setItems] = useState(null);
  const [promotions, setPromotions] = useState({});
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const t = setTimeout(async () => {
      try {
        const page = await api.searchModels(filterFor(query));
        if (!live) return;
        setItems(page.items);
        setError(null);
        if (page.items.length) {
          const found = await api.lastPromotions(page.items.map((m) => m.name));
          if (live) setPromotions(Object.fromEntries(found.items.map((e) => [e.model_name, e])));
        }
      } catch (err) { if (live) setError(err); }
    }, query ? 150 : 0);
    return () => { live = false; clearTimeout(t); };
  }, [query]);
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
        <table class="grid" data-testid="models-table">
          <caption class="sr-only">Registered models</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Aliases</th><th scope="col">Latest versions</th>
            <th scope="col">Last promotion</th><th scope="col">Updated</th></tr></thead>
          <tbody>
            {items.map((m) => {
              const p = promotions[m.name];
              return (
                <tr key={m.name}>
                  <td><Link href={modelHref(m.name)}>{m.name}</Link></td>
                  <td>{Object.entries(m.aliases || {}).map(([a, v]) => `@${a} → v${v}`).join(", ")}</td>
                  <td>{(m.latest_versions || []).map((v) => `v${v.version} (${v.current_stage})`).join(", ")}</td>
                  <td>{p ? `v${p.to_version} to ${targetLabel(p)}${p.override ? " (override)" : ""} by ${p.actor || "?"}, ${fmtTime(p.timestamp)}` : ""}</td>
                  <td>{fmtTime(m.last_updated_timestamp)}</td>
                </tr>
              );
            })}
            {items.length === 0 && <tr><td colSpan={5} class="muted">No models match.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}
