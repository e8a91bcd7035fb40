import { useEffect, useState } from "react";
import { get, post } from "../../api/client";
import { useLatestEvent } from "../../api/events";
import type { Task } from "../../api/types";
import { formatBytes } from "../../components/format";
import { useAction, useApi } from "../../hooks/useApi";
import { useTaskEnds } from "../../hooks/useTaskEnds";

interface SyncStatus {
  configured: boolean; problem: string | null; endpoint_url: string; bucket: string; prefix: string; areas: string[];
  last: { direction: string; transferred: string[]; skipped: number; bytes: number; finished_at: number } | null;
}

/** Push or pull the workspace to S3-compatible storage (`lorapilot sync`), with live progress. */
export function SyncPanel() {
  const status = useApi<SyncStatus>("/api/sync");
  const action = useAction();
  const [taskId, setTaskId] = useState<string | null>(null);
  const events = useLatestEvent<{ tasks: Task[] }>("tasks");
  const [polled, setPolled] = useState<Task | null>(null);
  const task = events?.tasks.find((t) => t.id === taskId) ?? polled;
  const running = !!task && (task.state === "running" || task.state === "queued");
  useEffect(() => {
    if (!taskId || events) return;
    const timer = setInterval(() => get<Task>(`/api/tasks/${taskId}`).then(setPolled).catch(() => {}), 1000);
    return () => clearInterval(timer);
  }, [taskId, events]);
  useTaskEnds(task ? [task] : [], status.reload);

  const start = (direction: "push" | "pull") =>
    action.run(async () => setTaskId((await post<Task>(`/api/sync/${direction}`)).id));
  const s = status.data;
  if (!s) return null;
  return (
    <section aria-label="Sync" className="sync-panel">
      <h2>Sync</h2>
      {s.configured ? (
        <p className="muted">{s.areas.join(", ")} ↔ s3://{s.bucket}/{s.prefix} {s.endpoint_url && `at ${s.endpoint_url}`}</p>
      ) : (
        <p className="muted">Not set up: {s.problem}. See docs/sync.md.</p>
      )}
      <button onClick={() => start("push")} disabled={!s.configured || running || action.busy}>Push to bucket</button>{" "}
      <button onClick={() => start("pull")} disabled={!s.configured || running || action.busy}>Pull from bucket</button>
      {task && (
        <div>
          {task.total ? <progress value={task.current} max={task.total} aria-label="Sync progress" /> : null}{" "}
          <span className="muted">{task.message === "done" ? "" : task.message} {task.state}</span>
          {task.error && <span className="error"> {task.error}</span>}
        </div>
      )}
      {action.error && <p role="alert" className="error">{action.error}</p>}
      {s.last && (
        <p data-testid="sync-last">
          Last {s.last.direction}: {s.last.transferred.length} transferred ({formatBytes(s.last.bytes)}), {s.last.skipped} unchanged,{" "}
          {new Date(s.last.finished_at * 1000).toLocaleString()}
        </p>
      )}
    </section>
  );
}
