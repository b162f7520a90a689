// A search box's data: runs `load(query, emit)` 150 ms after the last keystroke (at once for an
// empty query). `emit(partial)` merges into the result and is ignored once a newer query started.
import { useEffect, useState } from "preact/hooks";

export function useSearch(query, load) {
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let live = true;
    const emit = (partial) => { if (live) setResult((old) => ({ ...(old || {}), ...partial })); };
    const t = setTimeout(() => {
      load(query, emit).then(() => { if (live) setError(null); }).catch((err) => { if (live) setError(err); });
    }, query ? 150 : 0);
    return () => { live = false; clearTimeout(t); };
  }, [query]);
  return [result, error];
}
