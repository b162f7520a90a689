// Renders only the rows in view (plus a margin) of a long table body, keeping a real <table>:
// spacer rows stand in for the rest, so headers, columns and screen readers stay intact.
import { useEffect, useRef, useState } from "preact/hooks";

export const ROW_HEIGHT = 32;

export function useVirtual(count, { overscan = 15 } = {}) {
  const ref = useRef(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  useEffect(() => {
    const el = ref.current;
    if (!el) return undefined;
    const update = () => setView({ top: el.scrollTop, height: el.clientHeight || 600 });
    update();
    el.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    return () => { el.removeEventListener("scroll", update); window.removeEventListener("resize", update); };
  }, []);
  const start = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - overscan);
  const end = Math.min(count, Math.ceil((view.top + view.height) / ROW_HEIGHT) + overscan);
  return { ref, start, end, view };
}

export function Spacer({ rows, cols }) {
  if (rows <= 0) return null;
  return <tr aria-hidden="true" class="spacer"><td colSpan={cols} style={{ height: `${rows * ROW_HEIGHT}px` }} /></tr>;
}

export function scrollRowIntoView(container, index) {
  if (!container) return;
  const head = container.querySelector("thead");
  const headH = head ? head.offsetHeight : 0;
  const top = index * ROW_HEIGHT;
  if (top < container.scrollTop) container.scrollTop = top;
  else if (top + ROW_HEIGHT > container.scrollTop + container.clientHeight - headH) {
    container.scrollTop = top + ROW_HEIGHT - container.clientHeight + headH;
  }
}
