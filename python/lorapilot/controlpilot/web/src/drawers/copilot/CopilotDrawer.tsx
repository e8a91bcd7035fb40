import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError, del, errorMessage, get, post, withQuery } from "../../api/client";
import { useEvent } from "../../api/events";
import type { ServicesResponse } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";
import type { DrawerProps } from "../types";
import { type ChatResult, type CopilotStatus, type DeleteResult, type HistoryEntry, streamChat } from "./api";
import { HistoryList } from "./HistoryList";
import { TrashList } from "./TrashList";
import { StateNotice } from "./StateNotice";
import { TokenSettings } from "./TokenSettings";
import "./copilot.css";

const CONVERSATION_KEY = "lp:copilot:conversation";

interface Message {
  key: string;
  id?: number;
  prompt: string;
  answer: string;
  stderr: string;
  running: boolean;
  result?: Pick<ChatResult, "status" | "exit_code" | "duration_s" | "cwd">;
  error?: string;
}

function fromEntry(e: HistoryEntry): Message {
  return {
    key: `h${e.id}`,
    id: e.id,
    prompt: e.prompt,
    answer: e.answer,
    stderr: e.stderr,
    running: false,
    result: { status: e.status as ChatResult["status"], exit_code: e.exit_code, duration_s: e.duration_s ?? 0, cwd: e.cwd },
  };
}

/** The chat drawer: ask the Copilot sidecar, watch the answer stream in, go back to past conversations. */
export default function CopilotDrawer({ onClose }: DrawerProps) {
  const [status, setStatus] = useState<CopilotStatus>();
  const [statusError, setStatusError] = useState<string | null>(null);
  const [view, setView] = useState<"chat" | "history" | "trash">("chat");
  // The last delete or clear, undoable by restoring its batch from the trash.
  const [undo, setUndo] = useState<{ batch: string; what: string }>();
  const [listKey, setListKey] = useState(0);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [conversationId, setConversationId] = useState<string | undefined>(
    () => sessionStorage.getItem(CONVERSATION_KEY) ?? undefined,
  );
  const [messages, setMessages] = useState<Message[]>([]);
  const [prompt, setPrompt] = useState("");
  const [cwd, setCwd] = useState("");
  const [allowWrite, setAllowWrite] = useState(false);
  const [otherTools, setOtherTools] = useState("");
  const [model, setModel] = useState("");
  const [running, setRunning] = useState(false);
  const start = useAction();
  const stop = useAction();
  const removal = useAction();
  const endRef = useRef<HTMLDivElement>(null);

  const loadStatus = useCallback(() => {
    get<CopilotStatus>("/api/copilot/status")
      .then((s) => {
        setStatus(s);
        setStatusError(null);
      })
      .catch((err) => setStatusError(errorMessage(err)));
  }, []);
  useEffect(() => {
    loadStatus();
  }, [loadStatus]);

  // The sidecar's service state comes with the shared `services` event: reload when it changes.
  const lastService = useRef<string>("");
  useEvent<ServicesResponse>("services", (d) => {
    const s = d.services.find((x) => x.name === "copilot");
    const key = s ? `${s.state}/${s.ready}` : "none";
    if (key !== lastService.current) {
      lastService.current = key;
      loadStatus();
    }
  });

  const loadMessages = useCallback((id: string | undefined) => {
    if (!id) return;
    get<{ entries: HistoryEntry[] }>(withQuery("/api/copilot/history", { conversation_id: id, limit: 200 }))
      .then((h) => setMessages(h.entries.slice().reverse().map(fromEntry)))
      .catch((err) => setStatusError(errorMessage(err)));
  }, []);
  const openConversation = useCallback((id: string | undefined) => {
    setConversationId(id);
    if (id) sessionStorage.setItem(CONVERSATION_KEY, id);
    else sessionStorage.removeItem(CONVERSATION_KEY);
    setMessages([]);
    setView("chat");
    loadMessages(id);
  }, [loadMessages]);

  const deleted = (result: DeleteResult, what: string) => {
    setUndo(result.batch ? { batch: result.batch, what } : undefined);
    if (result.kept_running) setStatusError(`${result.kept_running} running message(s) were kept.`);
  };
  const deleteMessage = async (m: Message) => {
    const result = await removal.run(() => del<DeleteResult>(`/api/copilot/history/${m.id}`));
    if (!result) return;
    setMessages((all) => all.filter((x) => x.key !== m.key));
    deleted(result, "1 message");
  };
  const undoDelete = async () => {
    if (!undo) return;
    if ((await removal.run(() => post("/api/copilot/trash/restore", { batch: undo.batch }))) === undefined) return;
    setUndo(undefined);
    loadMessages(conversationId);
    setListKey((k) => k + 1);
  };
  useEffect(() => {
    openConversation(sessionStorage.getItem(CONVERSATION_KEY) ?? undefined);
  }, [openConversation]);

  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [messages]);
  useEffect(() => {
    if (status?.state === "no_token") setSettingsOpen(true);
  }, [status?.state]);

  const update = (key: string, change: (m: Message) => Message) =>
    setMessages((all) => all.map((m) => (m.key === key ? change(m) : m)));

  const send = async () => {
    const text = prompt.trim();
    if (!text || running) return;
    const key = `m${Date.now()}`;
    const tools = [...(allowWrite ? ["write"] : []), ...otherTools.split(",").map((t) => t.trim()).filter(Boolean)];
    setMessages((all) => [...all, { key, prompt: text, answer: "", stderr: "", running: true }]);
    setPrompt("");
    setRunning(true);
    try {
      await streamChat(
        {
          prompt: text,
          cwd: cwd.trim() || undefined,
          allow_tools: tools.length ? tools : undefined,
          model: model.trim() || undefined,
          conversation_id: conversationId,
          stream: true,
        },
        (e) => {
          if (e.kind === "start") {
            setConversationId(e.data.conversation_id);
            sessionStorage.setItem(CONVERSATION_KEY, e.data.conversation_id);
            update(key, (m) => ({ ...m, id: e.data.id }));
          } else if (e.kind === "output") {
            const field = e.data.stream === "stdout" ? "answer" : "stderr";
            update(key, (m) => ({ ...m, [field]: m[field] + e.data.text }));
          } else if (e.kind === "end") {
            update(key, (m) => ({ ...m, running: false, answer: e.data.stdout, stderr: e.data.stderr, result: e.data }));
          }
        },
      );
    } catch (err) {
      const message =
        err instanceof ApiError && err.status === 429 ? `Copilot is busy with another message: ${err.message}` : errorMessage(err);
      update(key, (m) => ({ ...m, running: false, error: message }));
    } finally {
      update(key, (m) => (m.running ? { ...m, running: false, error: m.error ?? "the stream ended without a result" } : m));
      setRunning(false);
      loadStatus();
    }
  };

  const usable = status?.state === "ready" || status?.state === "busy";
  return (
    <div className="copilot">
      <header className="copilot-head">
        <h2>Copilot</h2>
        {status && (
          <span className={`badge copilot-badge state-${status.state}`} data-testid="copilot-badge">
            {status.state.replace(/_/g, " ")}
          </span>
        )}
        <button type="button" className="ghost" aria-label="Copilot settings" aria-expanded={settingsOpen} onClick={() => setSettingsOpen((o) => !o)}>
          ⚙
        </button>
        <button type="button" className="ghost" aria-label="Close Copilot" onClick={onClose}>
          ✕
        </button>
      </header>
      <div className="drawer-body">
        <ErrorBanner message={statusError} onClose={() => setStatusError(null)} />
        {settingsOpen && <TokenSettings onChanged={loadStatus} />}
        {status && (
          <StateNotice
            status={status}
            starting={start.busy}
            startError={start.error}
            onStart={() => start.run(() => post("/api/services/copilot/start")).then(loadStatus)}
            onRetry={loadStatus}
            onSettings={() => setSettingsOpen(true)}
          />
        )}
        <nav className="copilot-tabs" aria-label="Copilot views">
          <button type="button" className={view === "chat" ? "active" : "ghost"} onClick={() => setView("chat")}>
            Chat
          </button>
          <button type="button" className={view === "history" ? "active" : "ghost"} onClick={() => setView("history")}>
            History
          </button>
          <button type="button" className={view === "trash" ? "active" : "ghost"} onClick={() => setView("trash")}>
            Trash
          </button>
          <button type="button" className="ghost" onClick={() => openConversation(undefined)} disabled={running}>
            New conversation
          </button>
        </nav>
        <ErrorBanner message={removal.error} onClose={removal.clearError} />
        {undo && (
          <div className="copilot-undo" role="status" data-testid="copilot-undo">
            <span>Moved {undo.what} to the trash.</span>
            <button type="button" onClick={() => void undoDelete()} disabled={removal.busy}>
              Undo
            </button>
            <button type="button" className="link" aria-label="Dismiss" onClick={() => setUndo(undefined)}>
              ✕
            </button>
          </div>
        )}
        {view === "history" ? (
          <HistoryList
            key={listKey}
            current={conversationId}
            onOpen={openConversation}
            onDeleted={(result, what) => {
              deleted(result, what);
              setMessages([]);
            }}
          />
        ) : view === "trash" ? (
          <TrashList
            key={listKey}
            onChanged={() => {
              setUndo(undefined);
              loadMessages(conversationId);
            }}
          />
        ) : (
          <section className="copilot-messages" aria-label="Conversation" aria-live="polite">
            {!messages.length && <p className="muted">Ask about your workspace, e.g. “why did my training run out of memory? here is the log”.</p>}
            {messages.map((m) => (
              <article key={m.key} className="copilot-message" data-testid="copilot-message" data-status={m.running ? "running" : (m.result?.status ?? "error")}>
                {m.id !== undefined && !m.running && (
                  <div className="copilot-message-tools">
                    <button type="button" className="ghost" aria-label="Delete this message" title="Move to the trash"
                      disabled={removal.busy} onClick={() => void deleteMessage(m)}>
                      Delete
                    </button>
                  </div>
                )}
                <p className="copilot-prompt">{m.prompt}</p>
                {(m.answer || m.running) && <pre className="copilot-answer">{m.answer || "…"}</pre>}
                {m.stderr && (
                  // A failed run: its CLI messages say why (e.g. a bad token), so they show without a click.
                  <details className="copilot-stderr" open={!!m.result && m.result.status !== "ok"}>
                    <summary>CLI messages</summary>
                    <pre>{m.stderr}</pre>
                  </details>
                )}
                {m.error && <p className="card-error">{m.error}</p>}
                {m.result && (
                  <p className="hint">
                    {m.result.status}
                    {m.result.exit_code !== null && m.result.exit_code !== 0 ? ` (exit ${m.result.exit_code})` : ""} · {m.result.duration_s.toFixed(1)} s · /
                    {m.result.cwd}
                  </p>
                )}
              </article>
            ))}
            <div ref={endRef} />
          </section>
        )}
      </div>
      <form
        className="copilot-composer"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label>
          <span className="sr-only">Message Copilot</span>
          <textarea
            aria-label="Message Copilot"
            rows={3}
            value={prompt}
            placeholder={usable ? "Ask Copilot… (Ctrl+Enter sends)" : "Copilot is not available yet (see above)"}
            onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
                e.preventDefault();
                void send();
              }
            }}
          />
        </label>
        <details className="copilot-options">
          <summary>Options</summary>
          <label>
            Working folder (inside the workspace)
            <input value={cwd} onChange={(e) => setCwd(e.target.value)} placeholder={`e.g. datasets/cats (default: ${status?.default_cwd ?? "outputs"})`} />
          </label>
          <label className="inline">
            <input type="checkbox" checked={allowWrite} onChange={(e) => setAllowWrite(e.target.checked)} /> Let Copilot edit files in that folder
          </label>
          <label>
            Other allowed tools (comma-separated patterns)
            <input value={otherTools} onChange={(e) => setOtherTools(e.target.value)} placeholder="e.g. shell(git:*), url(github.com)" />
          </label>
          <label>
            Model
            <input value={model} onChange={(e) => setModel(e.target.value)} placeholder="the CLI's default" />
          </label>
        </details>
        <div className="copilot-actions">
          {running ? (
            <button type="button" onClick={() => stop.run(() => post("/api/copilot/chat/cancel"))} disabled={stop.busy}>
              Stop
            </button>
          ) : (
            <button type="submit" className="primary" disabled={!prompt.trim() || !usable}>
              Send
            </button>
          )}
          {stop.error && <span className="card-error">{stop.error}</span>}
        </div>
      </form>
    </div>
  );
}
