// The trash: restore items, or empty it (by the keep-days policy, or everything) after a confirmation.

import { useState } from "react";
import { post } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatBytes } from "../../components/format";
import { useAction, useApi } from "../../hooks/useApi";
import type { BatchResult, TrashEntry } from "./types";

export function TrashView({ onChanged }: { onChanged: () => void }) {
  const trash = useApi<{ items: TrashEntry[]; keep_days: number }>("/api/mediapilot/trash");
  const action = useAction();
  const [note, setNote] = useState<string | null>(null);
  const restore = (ids: number[]) =>
    action.run(async () => {
      const r = await post<BatchResult>("/api/mediapilot/trash/restore", { ids });
      const failed = Object.values(r.failed);
      setNote(`restored ${r.done.length}` + (failed.length ? `; ${failed.join("; ")}` : ""));
      trash.reload();
      onChanged();
    });
  const empty = (all: boolean) => {
    const keep = trash.data?.keep_days ?? 30;
    const what = all ? "everything in the trash" : `trashed media older than ${keep} days`;
    if (!window.confirm(`Delete ${what} for good? This cannot be undone.`)) return;
    action.run(async () => {
      const r = await post<{ removed: number; bytes: number }>("/api/mediapilot/trash/empty", { all });
      setNote(`deleted ${r.removed} item(s), ${formatBytes(r.bytes)} freed`);
      trash.reload();
    });
  };
  const items = trash.data?.items ?? [];
  return (
    <section className="media-trash" aria-label="Trash">
      <ErrorBanner message={trash.error ?? action.error} />
      <div className="media-toolbar">
        <span className="muted">
          {items.length} item(s) · {formatBytes(items.reduce((n, i) => n + i.size, 0))}
        </span>
        <button type="button" disabled={!items.length || action.busy} onClick={() => restore(items.map((i) => i.id))}>
          Restore all
        </button>
        <button type="button" disabled={!items.length || action.busy} onClick={() => empty(false)}>
          Empty older than {trash.data?.keep_days ?? 30} days
        </button>
        <button type="button" disabled={!items.length || action.busy} onClick={() => empty(true)}>
          Empty trash
        </button>
      </div>
      {note && <p className="hint" role="status">{note}</p>}
      <div className="table-scroll">
        <table className="media-trash-table">
          <tbody>
            {items.map((i) => (
              <tr key={i.id}>
                <td>{i.rel}</td>
                <td className="muted">{new Date(i.deleted_at * 1000).toLocaleString()}</td>
                <td className="muted">{formatBytes(i.size)}</td>
                <td>
                  <button type="button" onClick={() => restore([i.id])} aria-label={`Restore ${i.name}`}>
                    Restore
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {!items.length && !trash.loading && <p className="muted">The trash is empty.</p>}
    </section>
  );
}
