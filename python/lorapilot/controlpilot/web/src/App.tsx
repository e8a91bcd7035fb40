import { useCallback, useEffect, useState } from "react";
import { errorMessage, get, UNAUTHORIZED_EVENT } from "./api/client";
import { EventsProvider } from "./api/events";
import type { SessionInfo } from "./api/types";
import { Frame } from "./components/Frame";
import { Login } from "./Login";

/** Decides between the login page and the app, and reacts to a session that ends. */
export function App() {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [error, setError] = useState<string | null>(null);

  const check = useCallback(() => {
    get<SessionInfo>("/api/auth/session", { quiet401: true })
      .then((s) => {
        setSession(s);
        setError(null);
      })
      .catch((err) => setError(errorMessage(err)));
  }, []);

  useEffect(check, [check]);
  useEffect(() => {
    const onUnauthorized = () => setSession((s) => (s ? { ...s, authenticated: false } : s));
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  if (!session) {
    return (
      <div className="splash">
        {error ? (
          <div className="error-banner" role="alert">
            {error}{" "}
            <button type="button" onClick={check}>
              Retry
            </button>
          </div>
        ) : (
          <p className="muted">Loading ControlPilot…</p>
        )}
      </div>
    );
  }
  if (!session.authenticated) return <Login session={session} onLoggedIn={setSession} />;
  return (
    <EventsProvider>
      <Frame session={session} onLoggedOut={() => setSession({ ...session, authenticated: false, via: null })} />
    </EventsProvider>
  );
}
