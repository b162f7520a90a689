// Builds the UI into ../static/ deterministically: same source + same lockfile => same bytes.
// index.html references the bundles with a content hash so browsers never use a stale copy.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

// LOCKGATE_UI_OUT lets the test suite build into a scratch folder and compare with ../static/.
const out = (process.env.LOCKGATE_UI_OUT || new URL("../static/", import.meta.url).pathname).replace(/\/?$/, "/");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: "src/main.jsx" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2020"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: out,
  legalComments: "none",
  charset: "utf8",
  sourcemap: false,
  logLevel: "warning",
});

const hash = (name) => createHash("sha256").update(readFileSync(out + name)).digest("hex").slice(0, 12);
const html = readFileSync("src/index.html", "utf8")
  .replace("{{APP_JS}}", `/static/app.js?v=${hash("app.js")}`)
  .replace("{{APP_CSS}}", `/static/app.css?v=${hash("app.css")}`);
writeFileSync(out + "index.html", html);
