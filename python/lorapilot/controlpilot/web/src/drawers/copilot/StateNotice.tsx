import type { CopilotStatus } from "./api";

/** What stands between the user and a chat, said plainly, with the one action that fixes it. */
export function StateNotice({
  status,
  starting,
  startError,
  onStart,
  onRetry,
  onSettings,
}: {
  status: CopilotStatus;
  starting: boolean;
  startError: string | null;
  onStart: () => void;
  onRetry: () => void;
  onSettings: () => void;
}) {
  const ok = status.state === "ready";
  return (
    <div className={`copilot-state${ok ? " ok" : ""}`} role="status" data-testid="copilot-state" data-state={status.state}>
      <p>{status.message}</p>
      {status.state === "sidecar_not_running" && (
        <p className="copilot-state-actions">
          <button type="button" onClick={onStart} disabled={starting}>
            {starting ? "Starting…" : "Start the sidecar"}
          </button>
          <button type="button" className="ghost" onClick={onRetry}>
            Check again
          </button>
        </p>
      )}
      {status.state === "cli_not_installed" && status.cli?.install_hint && (
        <p className="copilot-state-actions">
          <code>{status.cli.install_hint}</code>{" "}
          <button type="button" className="ghost" onClick={onRetry}>
            Check again
          </button>
        </p>
      )}
      {status.state === "no_token" && (
        <p className="copilot-state-actions">
          <button type="button" onClick={onSettings}>
            Add a token
          </button>
        </p>
      )}
      {startError && <p className="card-error">{startError}</p>}
    </div>
  );
}
