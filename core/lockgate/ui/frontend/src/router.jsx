// History-API routing: real URLs (/experiments/1, /runs/<id>, /compare?runs=...), back/forward,
// and the MLflow-style hash links the stock client prints (/#/experiments/1/runs/<id>).
import { useEffect, useState } from "preact/hooks";

export function fromMlflowHash(hash) {
  if (!hash.startsWith("#/")) return null;
  const [path, query = ""] = hash.slice(1).split("?");
  let m = path.match(/^\/experiments\/([^/]+)\/runs\/([^/]+)/);
  if (m) return `/runs/${m[2]}`;
  m = path.match(/^\/experiments\/([^/]+)\/?$/);
  if (m) return `/experiments/${m[1]}`;
  if (path.startsWith("/compare-runs")) {
    const runs = new URLSearchParams(query).get("runs");
    let ids = [];
    try { ids = JSON.parse(runs || "[]"); } catch (e) { ids = (runs || "").split(","); }
    return `/compare?runs=${ids.map(encodeURIComponent).join(",")}`;
  }
  m = path.match(/^\/models\/([^/]+)\/versions\/([^/]+)/);
  if (m) return `/models/${m[1]}/versions/${m[2]}`;
  m = path.match(/^\/models\/([^/]+)\/?$/);
  if (m) return `/models/${m[1]}`;
  if (path.startsWith("/models")) return "/models";
  if (path === "/" || path === "") return "/";
  return path;
}

// A malformed escape (%E0%A4%A) is a name nobody has, not a crash.
function dec(part) {
  try { return decodeURIComponent(part); } catch (e) { return "\u0000" + part; }
}

// The app's URL of a model page (names may hold spaces, unicode, quotes...; never '/').
export const modelHref = (name, rest = "") => `/models/${encodeURIComponent(name)}${rest}`;

export function currentRoute() {
  const { pathname, search } = window.location;
  const params = new URLSearchParams(search);
  let m;
  if (pathname === "/" || pathname === "/experiments") return { page: "experiments", params };
  if ((m = pathname.match(/^\/experiments\/([^/]+)\/?$/))) return { page: "runs", id: decodeURIComponent(m[1]), params };
  if ((m = pathname.match(/^\/runs\/([^/]+)\/?$/))) return { page: "run", id: decodeURIComponent(m[1]), params };
  if (pathname === "/compare") return { page: "compare", params };
  if (pathname === "/models" || pathname === "/models/") return { page: "models", params };
  if ((m = pathname.match(/^\/models\/([^/]+)\/?$/))) return { page: "model", name: dec(m[1]), params };
  if ((m = pathname.match(/^\/models\/([^/]+)\/history\/?$/))) return { page: "history", name: dec(m[1]), params };
  if ((m = pathname.match(/^\/models\/([^/]+)\/versions\/([^/]+)\/?$/))) {
    return { page: "version", name: dec(m[1]), version: dec(m[2]), params };
  }
  return { page: "notfound", params };
}

const listeners = new Set();
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  listeners.forEach((fn) => fn());
  window.scrollTo(0, 0);
}

export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => { listeners.delete(update); window.removeEventListener("popstate", update); };
  }, []);
  return route;
}

export function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={onClick} {...rest}>{children}</a>;
}
