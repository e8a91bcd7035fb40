import { useEffect, useState } from "react";
import { get, post } from "../api/client";
import { useEvent } from "../api/events";
import type { Task } from "../api/types";

/** The top bar's view of background tasks (downloads, captioning, scans): live, with Cancel. */
export function TasksMenu() {
  const [tasks, setTasks] = useState<Task[]>([]);
  const [open, setOpen] = useState(false);
  useEffect(() => {
    get<Task[]>("/api/tasks").then(setTasks).catch(() => undefined);
  }, []);
  useEvent<{ tasks: Task[] }>("tasks", (d) => setTasks(d.tasks));
  if (tasks.length === 0) return null;
  const active = tasks.filter((t) => t.state === "running" || t.state === "queued");
  return (
    <div className="tasks-menu">
      <button type="button" className="ghost" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        {active.length ? `${active.length} running` : "Tasks"}
      </button>
      {open && (
        <ul className="tasks-panel card" aria-label="Tasks">
          {tasks.slice(0, 20).map((t) => (
            <li key={t.id} data-state={t.state}>
              <div className="task-head">
                <strong>{t.title}</strong>
                <span className="muted">{t.state}</span>
              </div>
              {t.total ? <progress max={t.total} value={t.current} /> : t.state === "running" ? <progress /> : null}
              {(t.error || t.message) && <p className={t.error ? "card-error" : "hint"}>{t.error ?? t.message}</p>}
              {(t.state === "running" || t.state === "queued") && (
                <button type="button" className="ghost" onClick={() => post(`/api/tasks/${t.id}/cancel`).catch(() => undefined)}>
                  Cancel
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
