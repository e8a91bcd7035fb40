import { del } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";

/** One open login session, as `/api/auth/sessions` lists it (never the cookie). */
interface Session {
  id: string;
  created: number;
  expires: number;
  last_seen: number;
  user_agent: string;
  address: string;
  current: boolean;
}

const when = (t: number) => new Date(t * 1000).toLocaleString();

/** Every browser logged in to ControlPilot; revoking one logs it out in every server process. */
export default function SessionsPage() {
  const sessions = useApi<Session[]>("/api/auth/sessions");
  const action = useAction();
  const others = (sessions.data ?? []).filter((s) => !s.current).length;

  const revoke = (s: Session) =>
    action.run(() => del<Session>(`/api/auth/sessions/${s.id}`)).then((done) => {
      if (done?.current) window.location.reload(); // this browser is logged out now
      else sessions.reload();
    });

  return (
    <div className="page">
      <h1>Sessions</h1>
      <p className="muted">
        Browsers logged in to ControlPilot. API tokens are listed by{" "}
        <code>lorapilot controlpilot token list</code>.
      </p>
      <ErrorBanner message={sessions.error ?? action.error} />
      <div className="toolbar">
        <button
          disabled={action.busy || others === 0}
          onClick={() => action.run(() => del("/api/auth/sessions")).then(sessions.reload)}
        >
          Log out all other sessions
        </button>
      </div>
      {sessions.data?.length === 0 && <p className="muted">No one is logged in with a password.</p>}
      {sessions.data && sessions.data.length > 0 && (
        <div className="table-wrap">
          <table className="files" aria-label="Sessions">
            <thead>
              <tr>
                <th>Browser</th>
                <th>Address</th>
                <th className="desk-only">Logged in</th>
                <th>Last seen</th>
                <th className="desk-only">Expires</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {sessions.data.map((s) => (
                <tr key={s.id} data-testid={`session-${s.id}`}>
                  <td className="name">
                    {s.user_agent || "–"} {s.current && <span className="badge">this browser</span>}
                  </td>
                  <td>{s.address || "–"}</td>
                  <td className="desk-only">{when(s.created)}</td>
                  <td>{when(s.last_seen)}</td>
                  <td className="desk-only">{when(s.expires)}</td>
                  <td className="row-actions">
                    <button disabled={action.busy} onClick={() => revoke(s)}>
                      {s.current ? "Log out" : "Revoke"}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
