// The folders MediaPilot indexes: outputs/ plus the extra roots kept in config/lorapilot.toml.
// Adding one starts a scan task whose progress shows here; removing one drops its files from the index.

import { useEffect, useState, type FormEvent } from "react";
import { post } from "../../api/client";
import { useLatestEvent } from "../../api/events";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";

interface RootInfo {
  id: number;
  label: string;
  path: string;
  files: number;
  reachable: boolean;
  removable: boolean;
}
interface TaskInfo {
  id: string;
  state: string;
  current: number;
  total: number | null;
  error: string | null;
}

export function RootsView({ onChanged }: { onChanged: () => void }) {
  const roots = useApi<RootInfo[]>("/api/mediapilot/roots");
  const action = useAction();
  const [path, setPath] = useState("");
  const [note, setNote] = useState<string | null>(null);
  const [scanTask, setScanTask] = useState<string | null>(null);
  const tasks = useLatestEvent<{ tasks: TaskInfo[] }>("tasks");
  const scan = tasks?.tasks.find((t) => t.id === scanTask);

  useEffect(() => {
    if (scan && (scan.state === "done" || scan.state === "failed" || scan.state === "cancelled")) {
      setNote(scan.error ? `scan failed: ${scan.error}` : `scan done: ${scan.current} file(s)`);
      setScanTask(null);
      roots.reload();
      onChanged();
    }
  }, [scan?.state]);

  const add = (e: FormEvent) => {
    e.preventDefault();
    action.run(async () => {
      const r = await post<{ root: RootInfo; task: { id: string } }>("/api/mediapilot/roots", { path: path.trim() });
      setNote(`added ${r.root.path}; scanning…`);
      setScanTask(r.task.id);
      setPath("");
      roots.reload();
    });
  };
  const remove = (root: RootInfo) => {
    if (!window.confirm(`Stop indexing ${root.path}? Its files stay on disk.`)) return;
    action.run(async () => {
      const r = await post<{ removed: string; unindexed: number }>("/api/mediapilot/roots/remove", { path: root.label });
      setNote(`removed ${r.removed}: ${r.unindexed} file(s) left the index`);
      roots.reload();
      onChanged();
    });
  };

  return (
    <section className="media-roots" aria-label="Media roots">
      <ErrorBanner message={roots.error ?? action.error} onClose={action.clearError} />
      <form className="media-toolbar" onSubmit={add}>
        <input
          className="media-root-path"
          aria-label="Folder to index"
          placeholder="/mnt/network-volume/renders"
          value={path}
          onChange={(e) => setPath(e.target.value)}
        />
        <button type="submit" disabled={!path.trim() || action.busy}>
          Add root
        </button>
        {scan && (
          <span className="muted" role="progressbar" aria-label="Scan progress">
            Scanning {scan.total ? `${scan.current}/${scan.total}` : "…"}
          </span>
        )}
      </form>
      {note && <p className="hint" role="status">{note}</p>}
      <div className="table-scroll">
        <table className="media-roots-table">
          <tbody>
            {(roots.data ?? []).map((r) => (
              <tr key={r.id} data-testid="media-root">
                <td>{r.label}</td>
                <td className="muted">{r.path}</td>
                <td>{r.files} file(s)</td>
                <td className={r.reachable ? "ok" : "warn"}>{r.reachable ? "reachable" : "unreachable"}</td>
                <td>
                  {r.removable && (
                    <button type="button" disabled={action.busy} onClick={() => remove(r)} aria-label={`Remove ${r.label}`}>
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted">
        Roots are kept in <code>config/lorapilot.toml</code> (<code>[mediapilot] extra_roots</code>); the watcher follows them.
      </p>
    </section>
  );
}
