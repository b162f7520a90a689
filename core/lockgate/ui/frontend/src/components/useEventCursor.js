// Live pages: polls the newest event id of a model every few seconds and returns it, so a page
// re-reads its data when a version, promotion or refusal arrives (no reload, no websocket).
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";

export const POLL_MS = 2000;

export function useEventCursor(name) {
  const [cursor, setCursor] = useState(null);
  useEffect(() => {
    let live = true;
    let timer = null;
    const tick = async () => {
      try {
        const page = await api.timeline(name, { limit: 1 });
        if (live) setCursor(page.events.length ? page.events[0].id : 0);
      } catch (e) { /* the page shows its own errors; polling just tries again */ }
      if (live) timer = setTimeout(tick, document.hidden ? POLL_MS * 5 : POLL_MS);
    };
    timer = setTimeout(tick, POLL_MS);
    return () => { live = false; clearTimeout(timer); };
  }, [name]);
  return cursor;
}
