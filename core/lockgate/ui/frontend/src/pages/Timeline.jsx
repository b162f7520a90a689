// A model's promotion history from the event log, newest first: filter by type, actor and date
// (in the URL, so a view can be shared), expand each entry's gate evidence, export CSV or JSON.
// The server pages on the log's index: "Load more" fetches the next page below the last id.
import { useEffect, useState } from "preact/hooks";
import { api, download } from "../api.js";
import { fmtTime } from "../format.js";
import { Link, modelHref, navigate } from "../router.jsx";
import { useEventCursor } from "../components/useEventCursor.js";
import { targetLabel, VerdictTable } from "../components/Verdicts.jsx";
import { ErrorBox, NotFoundPage } from "./NotFound.jsx";

const PAGE = 100;
const TYPES = ["ALIAS_SET", "ALIAS_DELETED", "STAGE_CHANGED", "GATE_REJECTED", "VERSION_APPROVED",
  "GATE_POLICY_SET", "VERSION_CREATED", "VERSION_DELETED", "VERSION_TAG_SET", "MODEL_CREATED",
  "MODEL_RENAMED", "MODEL_UPDATED", "MODEL_TAG_SET", "MODEL_DELETED"];

// yyyy-mm-dd in local time -> ms at the start (or end) of that day.
function dayMs(day, end) {
  if (!day) return undefined;
  const d = new Date(day + "T00:00:00");
  return Number.isNaN(d.getTime()) ? undefined : d.getTime() + (end ? 86_400_000 - 1 : 0);
}

function Entry({ e }) {
  const results = e.evidence && e.evidence.results;
  const moved = e.from_version !== null || e.to_version !== null;
  return (
    <tr data-event-id={e.id} class={e.type === "GATE_REJECTED" ? "refused" : e.override ? "override" : ""}>
      <td>{fmtTime(e.timestamp)}</td>
      <td><span class={`event event-${e.type}`}>{e.type}</span>{e.override ? <span class="verdict verdict-overridden"> override</span> : ""}</td>
      <td>{e.version ? <Link href={modelHref(e.model_name, `/versions/${e.version}`)}>v{e.version}</Link> : ""}</td>
      <td>{targetLabel(e)}{moved && (e.alias || e.stage) ? ` v${e.from_version ?? "–"} → v${e.to_version ?? "–"}` : ""}</td>
      <td data-testid="event-actor">{e.actor}</td>
      <td class="wrap" data-testid="event-reason">{e.reason || (e.details && e.details.comment) || ""}</td>
      <td>{results ? (
        <details data-testid="event-evidence"><summary>{results.filter((r) => r.passed).length}/{results.length} rules passed</summary>
          <VerdictTable results={results} testId="event-verdicts" /></details>
      ) : ""}</td>
    </tr>
  );
}

export function TimelinePage({ name, params }) {
  const type = params.get("type") || "";
  const actor = params.get("actor") || "";
  const from = params.get("from") || "";
  const to = params.get("to") || "";
  const [state, setState] = useState({ key: null, events: null, next: null });
  const [error, setError] = useState(null);
  const [actorInput, setActorInput] = useState(actor);
  const cursor = useEventCursor(name);
  const filters = { types: type || undefined, actor: actor || undefined, since: dayMs(from, false), until: dayMs(to, true) };
  const key = JSON.stringify(filters);
  useEffect(() => {
    let live = true;
    api.timeline(name, { ...filters, limit: PAGE }).then((page) => {
      if (!live) return;
      setState((old) => {
        if (old.key !== key || !old.events || !old.events.length) {
          return { key, events: page.events, next: page.next_before_id };
        }
        // A live refresh keeps the pages already loaded: new events go on top.
        const top = old.events[0].id;
        return { ...old, events: [...page.events.filter((e) => e.id > top), ...old.events] };
      });
      setError(null);
    }).catch((err) => { if (live) setError(err); });
    return () => { live = false; };
  }, [name, key, cursor]);
  const { events, next } = state.key === key ? state : { events: state.events, next: null };

  const setFilter = (k, v) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v); else p.delete(k);
    const qs = p.toString();
    navigate(modelHref(name, "/history") + (qs ? "?" + qs : ""), { replace: true });
  };
  const more = async () => {
    try {
      const page = await api.timeline(name, { ...filters, limit: PAGE, before_id: next });
      setState((old) => ({ ...old, events: [...old.events, ...page.events], next: page.next_before_id }));
    } catch (err) { setError(err); }
  };
  const exportAs = (format) => download(api.timelineExportUrl(name, { ...filters, format }),
    `${name.replace(/[^A-Za-z0-9._-]/g, "_")}-history.${format}`).catch(setError);

  if (error && !events) {
    return error.status === 404
      ? <NotFoundPage what="model" message={`Registered model "${name}" does not exist and has no history.`} />
      : <ErrorBox error={error} />;
  }
  return (
    <section>
      <p class="crumbs"><Link href="/models">Models</Link> › <Link href={modelHref(name)}>{name}</Link> ›</p>
      <h1>History of {name}</h1>
      <form class="toolbar" onSubmit={(e) => { e.preventDefault(); setFilter("actor", actorInput.trim()); }}>
        <label for="f-type">Type</label>
        <select id="f-type" value={type} onChange={(e) => setFilter("type", e.currentTarget.value)}>
          <option value="">all events</option>
          <option value="ALIAS_SET,ALIAS_DELETED,STAGE_CHANGED,GATE_REJECTED">moves and refusals</option>
          {TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        <label for="f-actor">Actor</label>
        <input id="f-actor" value={actorInput} onInput={(e) => setActorInput(e.currentTarget.value)}
          onBlur={() => setFilter("actor", actorInput.trim())} />
        <label for="f-from">From</label>
        <input id="f-from" type="date" value={from} onChange={(e) => setFilter("from", e.currentTarget.value)} />
        <label for="f-to">To</label>
        <input id="f-to" type="date" value={to} onChange={(e) => setFilter("to", e.currentTarget.value)} />
        <span class="spacer" />
        <button type="button" onClick={() => exportAs("csv")}>Export CSV</button>
        <button type="button" onClick={() => exportAs("json")}>Export JSON</button>
      </form>
      <ErrorBox error={error} />
      {events && (
        <table class="grid timeline" data-testid="timeline">
          <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Version</th>
            <th scope="col">Target</th><th scope="col">Actor</th><th scope="col">Reason</th><th scope="col">Evidence</th></tr></thead>
          <tbody>
            {events.map((e) => <Entry key={e.id} e={e} />)}
            {events.length === 0 && <tr><td colSpan={7} class="muted">No events match.</td></tr>}
          </tbody>
        </table>
      )}
      {next !== null && events && <button type="button" onClick={more} data-testid="load-more">Load {PAGE} more</button>}
    </section>
  );
}
