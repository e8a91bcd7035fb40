import { useState } from "react";
import { post } from "../../api/client";
import type { Task } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";
import { Link } from "../../router";
import { base, cancelTask } from "./api";
import TaskProgress from "./TaskProgress";
import { finished, useTask } from "./useTask";

interface ExportResult { root: string; files: Record<string, string>; warnings: string[] }
const FORMATS = [["kohya", "kohya N_name folder + dataset TOML"], ["ai-toolkit", "AI Toolkit dataset entry"], ["diffusion-pipe", "Diffusion Pipe dataset TOML"]];

/** Export for the trainers, and the handoff that "Train this" gives TrainPilot. The export is a task: live
 * progress (images linked, or copied when outputs/ is on another disk) and cancel, which keeps the last export. */
export default function ExportTab({ name }: { name: string }) {
  const [formats, setFormats] = useState<Set<string>>(new Set(FORMATS.map(([f]) => f)));
  const [repeats, setRepeats] = useState(10);
  const [resolution, setResolution] = useState(1024);
  const [trigger, setTrigger] = useState("");
  const job = useTask();
  const action = useAction();
  const task = job.task as (Task & { result?: ExportResult }) | undefined;
  const result = task?.state === "done" ? task.result : undefined;
  const running = !!task && !finished(task);
  const run = () =>
    action.run(async () => {
      job.follow(await post<Task>(`${base(name)}/export`, {
        formats: [...formats], repeats, resolution, trigger_word: trigger.trim() || null,
      }));
    });
  const toggle = (f: string) => {
    const next = new Set(formats);
    if (next.has(f)) next.delete(f);
    else next.add(f);
    setFormats(next);
  };
  return (
    <section className="card tp-export" aria-label="Export">
      <div className="tp-form">
        {FORMATS.map(([f, label]) => (
          <label key={f} className="tp-inline"><input type="checkbox" checked={formats.has(f)} onChange={() => toggle(f)} /> {label}</label>
        ))}
        <label>Repeats <input type="number" min={1} value={repeats} onChange={(e) => setRepeats(Number(e.target.value))} /></label>
        <label>Resolution <input type="number" min={64} step={64} value={resolution} onChange={(e) => setResolution(Number(e.target.value))} /></label>
        <label>Trigger word <input value={trigger} onChange={(e) => setTrigger(e.target.value)} placeholder="optional, e.g. ohwx" /></label>
      </div>
      <button className="primary" disabled={action.busy || running || formats.size === 0} onClick={() => void run()}>Export</button>
      <ErrorBanner message={action.error} onClose={action.clearError} />
      {task && <TaskProgress task={task} onCancel={() => void action.run(() => cancelTask(task.id))} />}
      {task?.state === "cancelled" && <p className="muted">Cancelled: the previous export is unchanged.</p>}
      {result && (
        <div aria-label="Export result">
          <ul>{Object.entries(result.files).map(([k, v]) => <li key={k}><span className="muted">{k}</span> <code>{v}</code></li>)}</ul>
          {result.warnings.map((w) => <p key={w} className="card-error">{w}</p>)}
          <Link className="button" to={`/trainpilot/new?dataset=${encodeURIComponent(name)}`}>Train this →</Link>
        </div>
      )}
    </section>
  );
}
