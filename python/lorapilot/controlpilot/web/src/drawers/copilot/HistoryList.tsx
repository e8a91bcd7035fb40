import { del } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import type { Conversation, DeleteResult } from "./api";

/** Past conversations, newest first; opening one continues it. Clearing moves them all to the trash. */
export function HistoryList({
  current,
  onOpen,
  onDeleted,
}: {
  current?: string;
  onOpen: (id: string) => void;
  onDeleted: (result: DeleteResult, what: string) => void;
}) {
  const list = useApi<{ conversations: Conversation[] }>("/api/copilot/conversations?limit=100");
  const clear = useAction();
  const conversations = list.data?.conversations ?? [];
  return (
    <section className="copilot-history" aria-label="Conversations">
      <ErrorBanner message={list.error ?? clear.error} onClose={clear.error ? clear.clearError : undefined} />
      {list.loading && !list.data && <p className="muted">Loading…</p>}
      {list.data && !conversations.length && <p className="muted">No conversations yet.</p>}
      <ul>
        {conversations.map((c) => (
          <li key={c.conversation_id}>
            <button
              type="button"
              className={`ghost${c.conversation_id === current ? " active" : ""}`}
              onClick={() => onOpen(c.conversation_id)}
            >
              <span className="copilot-history-title">{c.title || "(empty prompt)"}</span>
              <span className="hint">
                {c.messages} message{c.messages === 1 ? "" : "s"} · {new Date(c.last_at * 1000).toLocaleString()}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {conversations.length > 0 && (
        <div className="copilot-list-actions">
          <button
            type="button"
            className="danger"
            disabled={clear.busy}
            onClick={async () => {
              const result = await clear.run(() => del<DeleteResult>("/api/copilot/history"));
              if (result) {
                list.reload();
                onDeleted(result, `${result.deleted} message${result.deleted === 1 ? "" : "s"}`);
              }
            }}
          >
            Clear history
          </button>
        </div>
      )}
    </section>
  );
}
