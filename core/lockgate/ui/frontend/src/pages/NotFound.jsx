import { Link } from "../router.jsx";

export function NotFoundPage({ what = "page", message }) {
  return (
    <section class="notfound">
      <h1>Not found</h1>
      <p data-testid="notfound-message">{message || `This ${what} does not exist.`}</p>
      <p><Link href="/">Back to experiments</Link></p>
    </section>
  );
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return <p class="error" role="alert">{error.message || String(error)}</p>;
}
