// The app shell: header, login when the server wants credentials, and the page for the URL.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { api, clearCredentials, credentials, setUnauthorizedHandler } from "./api.js";
import { fromMlflowHash, Link, navigate, useRoute } from "./router.jsx";
import { ExperimentsPage } from "./pages/Experiments.jsx";
import { RunsPage } from "./pages/Runs.jsx";
import { RunPage } from "./pages/Run.jsx";
import { ComparePage } from "./pages/Compare.jsx";
import { NotFoundPage } from "./pages/NotFound.jsx";
import { LoginPage } from "./pages/Login.jsx";
import { ModelsPage } from "./pages/Models.jsx";
import { ModelPage } from "./pages/Model.jsx";
import { VersionPage } from "./pages/Version.jsx";
import { TimelinePage } from "./pages/Timeline.jsx";

// Model names never hold '/' (the registry refuses them), so such a link names nothing.
const badName = (name) => name.includes("/") || name.includes("\u0000");

function Page({ route }) {
  switch (route.page) {
    case "experiments": return <ExperimentsPage />;
    case "runs": return <RunsPage key={route.id} experimentId={route.id} params={route.params} />;
    case "run": return <RunPage key={route.id} runId={route.id} />;
    case "compare": return <ComparePage key={route.params.get("runs")} params={route.params} />;
    case "models": return <ModelsPage />;
    case "model":
    case "version":
    case "history":
      if (badName(route.name)) return <NotFoundPage what="model" message={`Registered model "${route.name.replace("\u0000", "")}" does not exist: model names cannot contain '/'.`} />;
      if (route.page === "model") return <ModelPage key={route.name} name={route.name} />;
      if (route.page === "version") return <VersionPage key={`${route.name}\u0000${route.version}`} name={route.name} version={route.version} />;
      return <TimelinePage key={route.name} name={route.name} params={route.params} />;
    default: return <NotFoundPage what="page" />;
  }
}

function App() {
  const route = useRoute();
  const [info, setInfo] = useState(null);
  const [needLogin, setNeedLogin] = useState(null);
  useEffect(() => {
    // A 401 to a request sent without credentials just means "sign in"; with them, it says why not.
    setUnauthorizedHandler((err) => { const sent = credentials(); clearCredentials(); setNeedLogin(sent ? err.message : ""); });
    api.serverInfo().then((i) => {
      setInfo(i);
      if (i.auth && !credentials()) setNeedLogin("");
    }).catch(() => setInfo({ auth: false }));
  }, []);
  // The page starts loading its data at once, not after server-info: one round trip less before
  // the first row. With auth on and no credentials, its requests get 401s and the login shows.
  return (
    <>
      <header class="top">
        <Link href="/" class="brand">Lockgate</Link>
        <nav aria-label="Main"><Link href="/">Experiments</Link><Link href="/models">Models</Link></nav>
        <span class="spacer" />
        {info && info.auth && credentials() && needLogin === null &&
          <button type="button" class="link" onClick={() => { clearCredentials(); setNeedLogin(""); }}>Sign out</button>}
      </header>
      <main>
        {needLogin !== null
          ? <LoginPage problem={needLogin} onDone={() => setNeedLogin(null)} />
          : <Page route={route} />}
      </main>
    </>
  );
}

const legacy = fromMlflowHash(window.location.hash);
if (legacy) navigate(legacy, { replace: true });
render(<App />, document.getElementById("app"));
