import { del, post } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import type { TrashedEntry } from "./api";

/** Deleted history entries: restore one, delete one for good, or empty the trash. */
export function TrashList({ onChanged }: { onChanged: () => void }) {
  const list = useApi<{ entries: TrashedEntry[] }>("/api/copilot/trash?limit=500");
  const action = useAction();
  const act = async (run: () => Promise<unknown>) => {
    if ((await action.run(run)) !== undefined) {
      list.reload();
      onChanged();
    }
  };
  const entries = list.data?.entries ?? [];
  return (
    <section className="copilot-history copilot-trash" aria-label="Trash">
      <ErrorBanner message={list.error ?? action.error} onClose={action.error ? action.clearError : undefined} />
      {list.loading && !list.data && <p className="muted">Loading…</p>}
      {list.data && !entries.length && <p className="muted">The trash is empty.</p>}
      {entries.length > 0 && (
        <div className="copilot-list-actions">
          <span className="hint">Deleted messages stay here until you empty the trash.</span>
          <button
            type="button"
            className="danger"
            disabled={action.busy}
            onClick={() => {
              if (window.confirm(`Delete ${entries.length} message(s) for good? This cannot be undone.`))
                void act(() => post("/api/copilot/trash/empty", {}));
            }}
          >
            Empty trash
          </button>
        </div>
      )}
      <ul>
        {entries.map((e) => (
          <li key={e.id} className="copilot-trash-item" data-testid="copilot-trash-item">
            <span className="copilot-history-title">{e.prompt.trim().split("\n")[0] || "(empty prompt)"}</span>
            <span className="hint">deleted {new Date(e.deleted_at * 1000).toLocaleString()}</span>
            <span className="copilot-trash-actions">
              <button type="button" disabled={action.busy} onClick={() => void act(() => post("/api/copilot/trash/restore", { id: e.id }))}>
                Restore
              </button>
              <button type="button" className="ghost" disabled={action.busy} onClick={() => void act(() => del(`/api/copilot/trash/${e.id}`))}>
                Delete for good
              </button>
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
