// A gate's verdicts as a table: rule, pass/fail, what it saw, what it wanted, and why.
import { fmtValue } from "../format.js";

function show(v) {
  if (v === null || v === undefined) return "";
  return typeof v === "object" ? JSON.stringify(v) : fmtValue(v);
}

export function VerdictTable({ results, testId = "verdicts" }) {
  if (!results || !results.length) return <p class="muted" data-testid={testId}>No rules: nothing to check.</p>;
  return (
    <table class="grid verdicts" data-testid={testId}>
      <thead><tr><th scope="col">Rule</th><th scope="col">Verdict</th><th scope="col">Observed</th>
        <th scope="col">Expected</th><th scope="col">Message</th></tr></thead>
      <tbody>
        {results.map((r, i) => (
          <tr key={i} class={r.passed ? "pass" : "fail"}>
            <td>{r.rule}</td>
            <td><span class={`verdict verdict-${r.passed ? "passed" : "refused"}`}>{r.passed ? "passed" : "failed"}</span></td>
            <td class="clip">{show(r.observed)}</td>
            <td class="clip">{show(r.expected)}</td>
            <td class="wrap">{r.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// "@champion" for an alias, "Production" for a stage, from an event or a gate target.
export function targetLabel(x) {
  if (!x) return "";
  if (x.kind) return x.kind === "alias" ? `@${x.name}` : x.name;
  return x.alias ? `@${x.alias}` : (x.stage || "");
}

// How a gate judged a recorded move or refusal: "passed", "refused" or "overridden".
export const verdictOf = (e) => (e.type === "GATE_REJECTED" ? "refused" : e.override ? "overridden" : "passed");
