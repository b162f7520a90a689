import { useState } from "preact/hooks";
import { api } from "../api.js";
import { fmtTime } from "../format.js";
import { Link } from "../router.jsx";
import { useSearch } from "../components/useSearch.js";
import { ErrorBox } from "./NotFound.jsx";

export function ExperimentsPage() {
  const [query, setQuery] = useState("");
  const [found, error] = useSearch(query, async (q, emit) => {
    const filter = q ? `name ILIKE '%${q.replace(/'/g, "\\'")}%'` : "";
    const page = await api.searchExperiments({ filter_string: filter, max_results: 1000, order_by: ["last_update_time DESC"] });
    emit({ items: page.items });
    if (page.items.length) {
      const s = await api.experimentStats(page.items.map((e) => e.experiment_id));
      emit({ stats: Object.fromEntries(s.items.map((x) => [x.experiment_id, x])) });
    }
  });
  const items = found ? found.items : null;
  const stats = (found && found.stats) || {};
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
