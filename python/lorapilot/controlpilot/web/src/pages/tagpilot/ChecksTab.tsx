import { useState } from "react";
import { post } from "../../api/client";
import type { Task } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";
import { base, cancelTask, imageUrl, type CheckReport, type Finding } from "./api";
import ExcludedList from "./ExcludedList";
import TaskProgress from "./TaskProgress";
import { finished, useOnTrue, useTask } from "./useTask";

const LABELS: Record<string, string> = {
  exact_duplicates: "Exact duplicates",
  near_duplicates: "Near duplicates",
  low_resolution: "Low resolution",
  blurry: "Blurry",
  corrupt: "Corrupt / undecodable",
  uncaptioned: "Without caption",
};

/** Run the dataset checks as a job; each finding offers Exclude (reversible) or Trash (restorable). */
export default function ChecksTab({ name, onChanged }: { name: string; onChanged: () => void }) {
  const [minSide, setMinSide] = useState(512);
  const [blur, setBlur] = useState(60);
  const [near, setNear] = useState(6);
  const [handled, setHandled] = useState<Set<string>>(new Set());
  const [acted, setActed] = useState(0);
  const job = useTask();
  const action = useAction();
  const report = (job.task as (Task & { result?: CheckReport }) | undefined)?.result;
  useOnTrue(finished(job.task), () => setHandled(new Set()));

  const run = () =>
    action.run(async () => {
      job.follow(await post<Task>(`${base(name)}/checks`, { min_side: minSide, blur_threshold: blur, near_threshold: near }));
    });
  const act = (finding: Finding, how: "exclude" | "trash") => {
    const images = finding.images.filter((i) => i !== finding.keep && !handled.has(i));
    return action.run(() => post(`${base(name)}/checks/action`, { action: how, images })).then((ok) => {
      if (!ok) return;
      setHandled(new Set([...handled, ...images]));
      setActed((n) => n + 1);
      onChanged();
    });
  };

  return (
    <section className="card tp-checks" aria-label="Checks">
      <div className="tp-row tp-wrap">
        <label className="tp-inline">min side <input type="number" value={minSide} onChange={(e) => setMinSide(Number(e.target.value))} /></label>
        <label className="tp-inline">blur below <input type="number" value={blur} onChange={(e) => setBlur(Number(e.target.value))} /></label>
        <label className="tp-inline">near-duplicate bits <input type="number" min={0} max={32} value={near} onChange={(e) => setNear(Number(e.target.value))} /></label>
        <button className="primary" disabled={action.busy || (!!job.task && !finished(job.task))} onClick={() => void run()}>Run checks</button>
      </div>
      <ErrorBanner message={action.error} onClose={action.clearError} />
      <ExcludedList name={name} nonce={acted} onChanged={onChanged} />
      {job.task && <TaskProgress task={job.task} onCancel={() => void action.run(() => cancelTask(job.task!.id))} />}
      {report && (
        <>
          <p className="muted">{report.images} images, {report.measured} measured now (the rest cached)</p>
          {Object.entries(LABELS).map(([check, label]) => {
            const findings = report.findings.filter((f) => f.check === check);
            return (
              <details key={check} open={findings.length > 0 && findings.length < 30}>
                <summary>{label}: {findings.length}</summary>
                {findings.map((f) => {
                  const open = f.images.filter((i) => i !== f.keep && !handled.has(i));
                  return (
                    <div key={f.images.join("|")} className="tp-finding">
                      <div className="tp-thumbs">
                        {f.images.map((i) => (
                          <figure key={i} className={handled.has(i) ? "handled" : ""}>
                            {check !== "corrupt" && <img src={imageUrl(name, i, "thumb", 128)} alt={i} loading="lazy" />}
                            <figcaption>{i}{i === f.keep ? " (keep)" : ""}</figcaption>
                          </figure>
                        ))}
                      </div>
                      <span className="muted">{f.detail}</span>
                      <button disabled={!open.length || action.busy} onClick={() => void act(f, "exclude")}>Exclude</button>
                      <button disabled={!open.length || action.busy} onClick={() => void act(f, "trash")}>Trash</button>
                    </div>
                  );
                })}
              </details>
            );
          })}
        </>
      )}
    </section>
  );
}
