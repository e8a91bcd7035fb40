import type { Task } from "../../api/types";

/** A task's live progress bar, state and error, with a cancel button while it runs. */
export default function TaskProgress({ task, onCancel }: { task: Task; onCancel?: () => void }) {
  const running = task.state === "running" || task.state === "queued";
  const pct = task.total ? Math.round((100 * task.current) / task.total) : undefined;
  return (
    <div className="tp-task" role="status" aria-label={`${task.title}: ${task.state}`}>
      <div className="tp-row">
        <strong>{task.title}</strong>
        <span className={`badge state-${task.state}`}>{task.state}</span>
        <span className="muted">{task.total ? `${task.current} / ${task.total}` : ""} {task.message}</span>
        <span className="tp-spacer" />
        {running && onCancel && <button onClick={onCancel}>Cancel</button>}
      </div>
      <progress max={100} value={pct ?? (running ? undefined : 100)} aria-label="progress" />
      {task.error && <p className="card-error">{task.error}</p>}
    </div>
  );
}
