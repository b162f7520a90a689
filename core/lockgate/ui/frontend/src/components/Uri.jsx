// A URI shown whole, since people copy it from the page: monospace, and a long one breaks
// after a "/" (a <wbr> follows each), inside a path segment only when one is wider than the box.
export function Uri({ value, testId }) {
  const segments = (value || "").split("/");
  return (
    <code class="uri" data-testid={testId}>
      {segments.map((segment, i) => (
        <span key={i}>{segment}{i < segments.length - 1 && "/"}{i < segments.length - 1 && segments[i + 1] && <wbr />}</span>
      ))}
    </code>
  );
}
