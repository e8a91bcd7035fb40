import { useApi } from "../../hooks/useApi";
import { ErrorBanner } from "../../components/ErrorBanner";
import type { Conversation } from "./api";

/** Past conversations, newest first; opening one continues it. */
export function HistoryList({ current, onOpen }: { current?: string; onOpen: (id: string) => void }) {
  const list = useApi<{ conversations: Conversation[] }>("/api/copilot/conversations?limit=100");
  return (
    <section className="copilot-history" aria-label="Conversations">
      <ErrorBanner message={list.error} />
      {list.loading && <p className="muted">Loading…</p>}
      {list.data && !list.data.conversations.length && <p className="muted">No conversations yet.</p>}
      <ul>
        {list.data?.conversations.map((c) => (
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
    </section>
  );
}
