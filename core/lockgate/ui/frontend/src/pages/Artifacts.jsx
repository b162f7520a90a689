// The artifact browser of one run: folders expand in place, a file shows its preview.
// Previews are data (text in <pre>, tables, images through blob: URLs), never live HTML.
import { useEffect, useState } from "preact/hooks";
import { api, raw } from "../api.js";
import { fmtBytes } from "../format.js";
import { ErrorBox } from "./NotFound.jsx";

function Folder({ runId, path, depth, onOpen, current }) {
  const [files, setFiles] = useState(null);
  const [error, setError] = useState(null);
  const [open, setOpen] = useState(() => new Set());
  useEffect(() => { api.artifacts(runId, path).then((r) => setFiles(r.files)).catch(setError); }, [runId, path]);
  if (error) return <ErrorBox error={error} />;
  if (!files) return <p class="muted">Loading…</p>;
  if (!files.length && depth === 0) return <p class="muted" data-testid="no-artifacts">No artifacts.</p>;
  return (
    <ul class="tree" role={depth === 0 ? "tree" : "group"} aria-label={depth === 0 ? "Artifacts" : undefined}>
      {files.map((f) => {
        const name = f.path.split("/").pop();
        const isOpen = open.has(f.path);
        return (
          <li key={f.path} role="treeitem" aria-expanded={f.is_dir ? isOpen : undefined}>
            <button type="button" class={`link${current === f.path ? " current" : ""}`} onClick={() => {
              if (f.is_dir) { const n = new Set(open); if (isOpen) n.delete(f.path); else n.add(f.path); setOpen(n); }
              else onOpen(f);
            }}>{f.is_dir ? (isOpen ? "▾ " : "▸ ") : ""}{name}</button>
            {!f.is_dir && <span class="muted"> {fmtBytes(f.file_size)}</span>}
            {f.is_dir && isOpen && <Folder runId={runId} path={f.path} depth={depth + 1} onOpen={onOpen} current={current} />}
          </li>
        );
      })}
    </ul>
  );
}

function BlobImage({ runId, path }) {
  const [url, setUrl] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let made = null;
    raw(api.fileUrl(runId, path)).then((r) => r.blob()).then((b) => { made = URL.createObjectURL(b); setUrl(made); }).catch(setError);
    return () => { if (made) URL.revokeObjectURL(made); };
  }, [runId, path]);
  if (error) return <ErrorBox error={error} />;
  return url ? <img src={url} alt={path} class="preview-image" data-testid="preview-image" /> : <p class="muted">Loading…</p>;
}

async function download(runId, path) {
  const resp = await raw(api.fileUrl(runId, path, true));
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = path.split("/").pop();
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function Preview({ runId, file }) {
  // The answer is kept with the path it is for: right after another file is chosen (and
  // before its answer arrives) nothing of the previous file shows under the new name, and a
  // late answer for a file no longer chosen is dropped.
  const [loaded, setLoaded] = useState(null);
  const [downloadError, setDownloadError] = useState(null);
  useEffect(() => {
    let current = true;
    setDownloadError(null);
    const keep = (answer) => { if (current) setLoaded({ path: file.path, ...answer }); };
    api.preview(runId, file.path).then((preview) => keep({ preview })).catch((error) => keep({ error }));
    return () => { current = false; };
  }, [runId, file.path]);
  const mine = loaded && loaded.path === file.path ? loaded : null;
  const p = mine && mine.preview;
  const error = (mine && mine.error) || downloadError;
  return (
    <div class="preview" data-testid="artifact-preview">
      <div class="toolbar"><strong>{file.path}</strong>
        <button type="button" onClick={() => download(runId, file.path).catch(setDownloadError)}>Download</button></div>
      <ErrorBox error={error} />
      {!mine && <p class="muted">Loading…</p>}
      {p && p.kind === "image" && <BlobImage runId={runId} path={file.path} />}
      {p && p.kind === "table" && (
        <div class="table-scroll short"><table class="grid" data-testid="preview-table">
          <thead><tr>{p.columns.map((c, i) => <th scope="col" key={i}>{c}</th>)}</tr></thead>
          <tbody>{p.rows.map((r, i) => <tr key={i}>{r.map((v, j) => <td key={j}>{v}</td>)}</tr>)}</tbody>
        </table></div>
      )}
      {p && p.kind === "mlmodel" && p.summary && (
        <dl class="facts" data-testid="mlmodel-summary">
          <dt>Flavors</dt><dd>{(p.summary.flavors || []).join(", ")}</dd>
          <dt>Inputs</dt><dd class="clip">{p.summary.signature_inputs}</dd>
          <dt>Outputs</dt><dd class="clip">{p.summary.signature_outputs}</dd>
        </dl>
      )}
      {p && p.text !== null && p.text !== undefined && <pre data-testid="preview-text">{p.text}</pre>}
      {p && p.truncated && <p class="muted">Only the beginning is shown; download the file for all of it.</p>}
      {p && p.message && <p class="muted">{p.message}</p>}
    </div>
  );
}

export function ArtifactBrowser({ runId }) {
  const [file, setFile] = useState(null);
  return (
    <div class="artifacts">
      <div class="artifact-tree"><Folder runId={runId} path="" depth={0} onOpen={setFile} current={file && file.path} /></div>
      {file && <Preview runId={runId} file={file} />}
    </div>
  );
}
