import { useState } from "preact/hooks";
import { api, clearCredentials, setCredentials } from "../api.js";

export function LoginPage({ problem, onDone }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(problem || "");
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setCredentials(user, password);
    try {
      await api.searchExperiments({ max_results: 1 });
      setError("");
      onDone();
    } catch (err) {
      clearCredentials();
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="login">
      <h1>Sign in to Lockgate</h1>
      <form onSubmit={submit}>
        <label for="login-user">User name</label>
        <input id="login-user" name="username" autocomplete="username" value={user}
          onInput={(e) => setUser(e.currentTarget.value)} required />
        <label for="login-password">Password or API token</label>
        <input id="login-password" name="password" type="password" autocomplete="current-password"
          value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>Sign in</button>
      </form>
    </section>
  );
}
