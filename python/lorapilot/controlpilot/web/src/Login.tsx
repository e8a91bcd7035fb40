import { useState, type FormEvent } from "react";
import { errorMessage, post } from "./api/client";
import type { SessionInfo } from "./api/types";

export function Login({ session, onLoggedIn }: { session: SessionInfo; onLoggedIn: (s: SessionInfo) => void }) {
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLoggedIn(await post<SessionInfo>("/api/auth/login", { password }, { quiet401: true }));
    } catch (err) {
      setError(errorMessage(err));
      setPassword("");
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form onSubmit={submit} className="card" aria-label="Log in">
        <h1>ControlPilot</h1>
        {!session.password_set && (
          <p className="hint">
            No password is set yet. Run <code>lorapilot init</code> and read it with{" "}
            <code>lorapilot secrets show CONTROLPILOT_PASSWORD</code>.
          </p>
        )}
        <label>
          Password
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            autoFocus
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="card-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !password}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
