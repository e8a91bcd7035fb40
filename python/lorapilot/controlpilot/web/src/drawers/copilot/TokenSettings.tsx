import { useEffect, useState } from "react";
import { api, del, get } from "../../api/client";
import { useAction } from "../../hooks/useApi";

interface TokenState {
  configured: boolean;
  source: string | null;
}

/** The token field: written to config/secrets.env (0600) by ControlPilot, never shown again. */
export function TokenSettings({ onChanged }: { onChanged: () => void }) {
  const [state, setState] = useState<TokenState>();
  const [token, setToken] = useState("");
  const action = useAction();
  const { run } = action;

  useEffect(() => {
    void run(() => get<TokenState>("/api/copilot/token").then(setState));
  }, [run]);

  const save = () =>
    action.run(async () => {
      setState(await api<TokenState>("PUT", "/api/copilot/token", { token }));
      setToken("");
      onChanged();
    });
  const remove = () =>
    action.run(async () => {
      setState(await del<TokenState>("/api/copilot/token"));
      onChanged();
    });

  return (
    <form
      className="copilot-settings"
      aria-label="Copilot token"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label>
        GitHub token
        <input
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder={state?.configured ? "a token is stored; type a new one to replace it" : "github_pat_…"}
        />
      </label>
      <p className="hint" data-testid="copilot-token-state">
        {state === undefined ? "…" : state.configured ? `A token is stored (${state.source}).` : "No token is stored."} A
        fine-grained token needs the “Copilot Requests” permission; it is kept in config/secrets.env (mode 0600).
      </p>
      <p className="copilot-state-actions">
        <button type="submit" className="primary" disabled={!token.trim() || action.busy}>
          Save token
        </button>
        {state?.configured && (
          <button type="button" onClick={remove} disabled={action.busy}>
            Remove token
          </button>
        )}
      </p>
      {action.error && <p className="card-error">{action.error}</p>}
    </form>
  );
}
