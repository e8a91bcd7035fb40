import { ApiError, post } from "../../api/client";
import type { TrashItem } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatBytes } from "../../components/format";
import { useAction, useApi } from "../../hooks/useApi";

/** "datasets/a.txt" -> "datasets/a (restored).txt": a suggestion when the original place is taken. */
function besideName(path: string): string {
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".");
  const cut = dot > slash + 1 ? dot : path.length;
  return `${path.slice(0, cut)} (restored)${path.slice(cut)}`;
}

/** Everything deleted from the workspace, newest first, with Restore. */
export function TrashView({ onRestored }: { onRestored: (name: string) => void }) {
  const items = useApi<TrashItem[]>("/api/files/trash");
  const action = useAction();
  const restore = (item: TrashItem) =>
    action.run(async () => {
      const url = `/api/files/trash/${encodeURIComponent(item.id)}/restore`;
      let to: string | undefined;
      for (;;) {
        try {
          await post(url, to === undefined ? undefined : { to });
          break;
        } catch (err) {
          // 409: its place is taken (nothing is ever overwritten); ask where else to put it.
          if (!(err instanceof ApiError) || err.status !== 409) throw err;
          const answer = window.prompt(`${err.message}\n\nRestore it as:`, to ?? besideName(item.original));
          if (!answer) return;
          to = answer;
        }
      }
      onRestored(item.name);
      items.reload();
    });
  // The only permanent delete in the app: always behind an explicit confirmation.
  const empty = (olderThanDays?: number) => {
    const what = olderThanDays === undefined ? "everything in the trash" : `trash items older than ${olderThanDays} days`;
    if (!window.confirm(`Delete ${what} for good? This cannot be undone.`)) return;
    action.run(async () => {
      await post("/api/files/trash/empty", olderThanDays === undefined ? {} : { older_than_days: olderThanDays });
      items.reload();
    });
  };
  const hasItems = (items.data?.length ?? 0) > 0;
  return (
    <div className="table-wrap">
      <ErrorBanner message={items.error ?? action.error} onClose={action.error ? action.clearError : undefined} />
      <div className="row-actions">
        <button type="button" onClick={() => empty(30)} disabled={!hasItems || action.busy}>
          Empty older than 30 days
        </button>
        <button type="button" onClick={() => empty()} disabled={!hasItems || action.busy}>
          Empty trash
        </button>
      </div>
      <table className="files" aria-label="Trash">
        <thead>
          <tr>
            <th>Was</th>
            <th className="num">Size</th>
            <th className="desk-only">Deleted</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.data?.map((item) => (
            <tr key={item.id} data-testid={`trash-${item.name}`}>
              <td className="name">{item.original}</td>
              <td className="num">{formatBytes(item.size)}</td>
              <td className="desk-only muted">{new Date(item.deleted_at * 1000).toLocaleString()}</td>
              <td className="row-actions">
                <button type="button" onClick={() => restore(item)} disabled={action.busy}>
                  Restore
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {items.data?.length === 0 && <p className="muted">The trash is empty.</p>}
    </div>
  );
}
