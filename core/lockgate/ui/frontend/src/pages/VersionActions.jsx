// What a permitted user can do with a version: approve, promote (verdicts before and after),
// override with a reason (MANAGE only), set or remove an alias, archive. Buttons exist only for
// the operations the server says the caller may perform; the server decides every outcome.
import { useState } from "preact/hooks";
import { actorName, api, setActorName } from "../api.js";
import { fmtTime } from "../format.js";
import { targetLabel, VerdictTable } from "../components/Verdicts.jsx";
import { ErrorBox } from "./NotFound.jsx";

const STAGES = ["Staging", "Production"];

export function VersionActions({ name, mv, gates, ops, auth, approvals }) {
  const [target, setTarget] = useState(gates.length ? targetLabel(gates[0]) : "Staging");
  const [otherAlias, setOtherAlias] = useState("");
  const [reason, setReason] = useState("");
  const [override, setOverride] = useState(false);
  const [comment, setComment] = useState("");
  const [actor, setActor] = useState(actorName());
  const [before, setBefore] = useState(null);
  const [outcome, setOutcome] = useState(null);
  const [busy, setBusy] = useState(false);
  const canMove = ops.has("move_alias_or_stage");
  const canApprove = ops.has("approve_model_version");
  const canOverride = ops.has("override_gate");
  const canDeleteAlias = ops.has("delete_alias");
  if (!canMove && !canApprove && !canDeleteAlias) return null;

  const chosen = () => {
    if (target === "other") return { alias: otherAlias.trim() };
    return target.startsWith("@") ? { alias: target.slice(1) } : { stage: target };
  };
  const run = async (label, fn) => {
    setBusy(true);
    setOutcome(null);
    try {
      const result = await fn();
      setOutcome({ label, ok: true, ...result });
    } catch (err) {
      setOutcome({ label, ok: false, error: err, results: err.details && err.details.results });
    } finally { setBusy(false); }
  };
  const moveArgs = () => ({ reason: reason || null, override });

  const approve = () => run("Approve", async () => {
    const known = new Set((approvals || []).map((a) => a.id));
    const ev = await api.approve(name, mv.version, comment);
    return { message: known.has(ev.id)
      ? `${ev.actor} already approved this version (${fmtTime(ev.timestamp)}); an approval counts once per user.`
      : `Approved by ${ev.actor}.` };
  });
  const check = () => run("Check gate", async () => {
    const d = await api.evaluate(name, { version: mv.version, ...chosen() });
    setBefore(d);
    return { message: d.passed ? "The gate would pass." : "The gate would refuse this version.", results: d.results };
  });
  const promote = () => run("Promote", async () => {
    const d = await api.promote(name, { version: mv.version, ...chosen(), ...moveArgs() });
    const where = chosen().alias ? `@${chosen().alias}` : chosen().stage;
    const msg = !d.changed ? `Version ${mv.version} already holds ${where}; nothing changed.`
      : d.overridden ? `Version ${mv.version} now holds ${where} (gate overridden).`
        : `Version ${mv.version} now holds ${where}.`;
    return { message: msg, results: d.results };
  });
  const archive = () => run("Archive", async () => {
    await api.transition(name, mv.version, { stage: "Archived", ...moveArgs() });
    return { message: `Version ${mv.version} archived.` };
  });
  const removeAlias = (alias) => run(`Remove @${alias}`, async () => {
    await api.deleteAlias(name, alias, reason || null, override);
    return { message: `@${alias} removed.` };
  });

  return (
    <div class="actions" data-testid="version-actions">
      <h2>Actions</h2>
      {!auth && (
        <div class="toolbar"><label for="actor-name">Your name (recorded in the audit trail)</label>
          <input id="actor-name" value={actor} onInput={(e) => { setActor(e.currentTarget.value); setActorName(e.currentTarget.value); }} /></div>
      )}
      {canApprove && (
        <div class="toolbar">
          <label for="approve-comment">Approval comment</label>
          <input id="approve-comment" value={comment} onInput={(e) => setComment(e.currentTarget.value)} />
          <button type="button" disabled={busy} onClick={approve}>Approve</button>
        </div>
      )}
      {canMove && (
        <div class="toolbar">
          <label for="promote-target">Target</label>
          <select id="promote-target" value={target} onChange={(e) => setTarget(e.currentTarget.value)}>
            {gates.map((g) => <option key={targetLabel(g)} value={targetLabel(g)}>{targetLabel(g)} (guarded)</option>)}
            {STAGES.filter((s) => !gates.some((g) => g.kind === "stage" && g.name === s)).map((s) => <option key={s} value={s}>{s}</option>)}
            <option value="other">another alias…</option>
          </select>
          {target === "other" && <input aria-label="Alias" placeholder="alias" value={otherAlias} onInput={(e) => setOtherAlias(e.currentTarget.value)} />}
          <label for="move-reason">Reason</label>
          <input id="move-reason" class="wide" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
          {canOverride && <label><input type="checkbox" checked={override} onChange={(e) => setOverride(e.currentTarget.checked)} /> Override a failing gate</label>}
          <button type="button" disabled={busy} onClick={check}>Check gate</button>
          <button type="button" disabled={busy} onClick={promote}>Promote</button>
          <button type="button" disabled={busy} onClick={archive}>Archive</button>
        </div>
      )}
      {canDeleteAlias && mv.aliases.length > 0 && (
        <div class="toolbar">
          {mv.aliases.map((a) => <button type="button" key={a} disabled={busy} onClick={() => removeAlias(a)}>Remove @{a}</button>)}
        </div>
      )}
      {before && (
        <details data-testid="verdicts-before"><summary>Verdicts before ({before.passed ? "would pass" : "would be refused"})</summary>
          <VerdictTable results={before.results} testId="before-verdicts" /></details>
      )}
      {outcome && (
        <div class={outcome.ok ? "outcome ok" : "outcome"} data-testid="action-outcome">
          {outcome.ok ? <p role="status" data-testid="action-message">{outcome.message}</p> : <ErrorBox error={outcome.error} />}
          {outcome.results && <VerdictTable results={outcome.results} testId="outcome-verdicts" />}
        </div>
      )}
    </div>
  );
}
