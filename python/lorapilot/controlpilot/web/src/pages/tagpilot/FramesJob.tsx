import { useState } from "react";
import { post } from "../../api/client";
import type { Task } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";
import { Link } from "../../router";
import { base, cancelTask } from "./api";
import TaskProgress from "./TaskProgress";
import { finished, useOnTrue, useTask } from "./useTask";

interface FramesReport { into: string; created: boolean; frames: Record<string, number>; imported: string[]; errors: { clip: string; error: string }[] }

/** Extract still frames of the dataset's clips (every N frames, or the first frame and each scene change)
 *  into another dataset, as a background task with live progress and cancel. Each frame starts with its
 *  clip's caption. */
export default function FramesJob({ name, clips, onFinished }: { name: string; clips: number; onFinished: () => void }) {
  const [into, setInto] = useState(`${name}-frames`);
  const [how, setHow] = useState<"every" | "scene">("every");
  const [every, setEvery] = useState(8);
  const [scene, setScene] = useState(0.3);
  const job = useTask();
  const action = useAction();
  const done = finished(job.task);
  useOnTrue(done, onFinished);
  const report = (job.task as (Task & { result?: FramesReport }) | undefined)?.result;

  const start = () =>
    action.run(async () => {
      const body = how === "every" ? { into, every } : { into, scene };
      job.follow(await post<Task>(`${base(name)}/frames`, body));
    });

  return (
    <section className="card tp-job tp-frames" aria-label="Extract frames">
      <ErrorBanner message={action.error} onClose={action.clearError} />
      <p className="muted">{clips} video clips: take still frames into a dataset for trainers that read images (each frame starts with its clip's caption).</p>
      <div className="tp-form">
        <label>Into dataset <input aria-label="Into dataset" value={into} onChange={(e) => setInto(e.target.value)} /></label>
        <label>Frames
          <select aria-label="Frames" value={how} onChange={(e) => setHow(e.target.value as "every" | "scene")}>
            <option value="every">every N frames</option>
            <option value="scene">at scene changes</option>
          </select>
        </label>
        {how === "every"
          ? <label>N <input aria-label="Every N frames" type="number" min={1} value={every} onChange={(e) => setEvery(Number(e.target.value))} /></label>
          : <label>Scene threshold (0–1) <input aria-label="Scene threshold" type="number" step={0.05} min={0.01} max={0.99} value={scene} onChange={(e) => setScene(Number(e.target.value))} /></label>}
        <button className="primary" disabled={!into || action.busy || (!!job.task && !done)} onClick={() => void start()}>Extract frames</button>
      </div>
      {job.task && <TaskProgress task={job.task} onCancel={() => void action.run(() => cancelTask(job.task!.id))} />}
      {report && (
        <p data-testid="frames-report">
          {report.imported.length} frames {report.created ? "in the new dataset" : "added to"}{" "}
          <Link to={`/tagpilot/${encodeURIComponent(report.into)}`}>{report.into}</Link>
          {" "}({Object.entries(report.frames).map(([clip, n]) => `${clip}: ${n}`).join(", ")})
        </p>
      )}
      {report?.errors.map((e) => <p key={e.clip} className="card-error">{e.error}</p>)}
    </section>
  );
}
