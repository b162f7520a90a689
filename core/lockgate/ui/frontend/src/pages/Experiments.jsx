import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtTime } from "../format.js";
import { Link } from "../router.jsx";
import { ErrorBox } from "./NotFound.jsx";

export function ExperimentsPage() {
  const [query, setQuery] = useState("");
  const [items, setItems] = useState(null);
  const [stats, setStats] = useState({});
  const [error, setError] = useState(null);
  useEffect(() => {
    const filter = query ? `name ILIKE '%${query.replace(/'/g, "\\'")}%'` : "";
    let live = true;
    const t = setTimeout(async () => {
      try {
        const page = await api.searchExperiments({ filter_string: filter, max_results: 1000, order_by: ["last_update_time DESC"] });
        if (!live) return;
        setItems(page.items);
        setError(null);
        if (page.items.length) {
          const s = await api.experimentStats(page.items.map((e) => e.experiment_id));
          if (live) setStats(Object.fromEntries(s.items.map((x) => [x.experiment_id, x])));
        }
      } catch (err) { if (live) setError(err); }
    }, query ? 150 : 0);
    return () => { live = false; clearTimeout(t); };
  }, [query]);
  return (
    <section>
      <h1>Experiments</h1>
      <div class="toolbar">
        <label for="exp-search">Search experiments</label>
        <input id="exp-search" type="search" value={query} placeholder="name contains…"
          onInput={(e) => setQuery(e.currentTarget.value)} />
      </div>
      <ErrorBox error={error} />
      {items && (
        <table class="grid" data-testid="experiments-table">
          <caption class="sr-only">Experiments</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col">Runs</th>
            <th scope="col">Last activity</th><th scope="col">Created</th></tr></thead>
          <tbody>
            {items.map((e) => {
              const st = stats[e.experiment_id];
              return (
                <tr key={e.experiment_id}>
                  <td><Link href={`/experiments/${e.experiment_id}`}>{e.name}</Link></td>
                  <td>{e.experiment_id}</td>
                  <td class="num">{st ? st.runs : ""}</td>
                  <td>{st ? fmtTime(st.last_activity) : ""}</td>
                  <td>{fmtTime(e.creation_time)}</td>
                </tr>
              );
            })}
            {items.length === 0 && <tr><td colSpan={5} class="muted">No experiments match.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}
