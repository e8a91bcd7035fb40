import { useEffect, useRef } from "react";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useApi } from "../../hooks/useApi";
import { Link } from "../../router";
import { TRAINERS, fileUrl, type JobDetail } from "./api";
import { GridView } from "./GridView";
import { JobActions } from "./JobActions";
import { LossChart } from "./LossChart";
import { JobProgress } from "./Progress";
import { useQueue } from "./useQueue";

/** One job: live progress, the loss chart, samples per step, checkpoints and the log. */
export function JobView({ jobId }: { jobId: number }) {
  const detail = useApi<JobDetail>(`/api/trainpilot/jobs/${jobId}?log_lines=200`);
  const { jobs } = useQueue();
  const stamp = jobs?.find((j) => j.id === jobId)?.updated_at;
  const last = useRef<number | undefined>(undefined);
  const { reload } = detail;
  useEffect(() => {
    if (stamp !== undefined && last.current !== undefined && stamp !== last.current) reload();
    last.current = stamp;
  }, [stamp, reload]);

  const job = detail.data;
  const byStep = new Map<number, JobDetail["samples"]>();
  for (const s of job?.samples ?? []) byStep.set(s.step, [...(byStep.get(s.step) ?? []), s]);
  const steps = [...byStep.keys()].sort((a, b) => b - a);
  // Where the results went: the LoRA in the model store, the samples in MediaPilot (outputs/trainpilot/<run>/).
  const loraName = job?.final_lora?.split("/").pop();
  const samplesQuery = job && `path:"trainpilot/${job.run_dir.split("/").pop()}/"`;

  return (
    <div className="page train">
      <p>
        <Link to="/trainpilot">← Queue</Link>
      </p>
      <ErrorBanner message={detail.error} />
      {!job && !detail.error && <p className="muted">Loading…</p>}
      {job && (
        <>
          <div className="page-head">
            <h1>
              #{job.id} {job.name}
            </h1>
            <span className={`badge state-${job.state}`} data-testid="state">
              {job.state}
            </span>
          </div>
          <p className="muted">
            {TRAINERS[job.trainer] ?? job.trainer} · {job.family} · dataset {job.dataset} · attempt {job.attempts}
            {job.gpu_ids.length > 0 && <> · GPU {job.gpu_ids.join(", ")}</>}
          </p>
          <JobProgress job={job} />
          <JobActions job={job} canSaveStop={job.can_save_stop} resumable={job.resumable} onDone={reload} />
          {job.error && <ErrorBanner message={job.error} />}
          {job.final_lora && (
            <p>
              LoRA: <code>{job.final_lora}</code>{" "}
              <Link className="button" to={`/models?q=${encodeURIComponent(loraName ?? "")}`}>Open in Models</Link>
            </p>
          )}
          <section className="card">
            <h3>Loss</h3>
            <LossChart points={job.points} />
          </section>
          <section className="card" aria-label="Samples">
            <h3>Samples</h3>
            {steps.length === 0 && <p className="muted">No samples yet.</p>}
            {steps.length > 0 && samplesQuery && (
              <Link to={`/mediapilot?q=${encodeURIComponent(samplesQuery)}`}>Samples in MediaPilot</Link>
            )}
            {steps.map((step) => (
              <div key={step} className="sample-step">
                <span className="muted">step {step}</span>
                <div className="gallery">
                  {byStep.get(step)!.map((s) => (
                    <a key={s.path} href={fileUrl(job.id, s.path)} target="_blank" rel="noreferrer">
                      <img src={fileUrl(job.id, s.path)} alt={`sample at step ${step}`} loading="lazy" />
                    </a>
                  ))}
                </div>
              </div>
            ))}
          </section>
          {(job.state === "done" || job.checkpoints.length > 0) && <GridView job={job} />}
          {job.checkpoints.length > 0 && (
            <section className="card">
              <h3>Checkpoints</h3>
              <ul className="plain">
                {job.checkpoints.map((c) => (
                  <li key={c.path}>
                    step {c.step}: <code>{c.path}</code>
                  </li>
                ))}
              </ul>
            </section>
          )}
          {job.log_tail && (
            <section className="card">
              <h3>Last log lines when it failed</h3>
              <pre className="log">{job.log_tail}</pre>
            </section>
          )}
          <section className="card">
            <h3>Log</h3>
            <pre className="log" data-testid="log">{job.log.join("\n")}</pre>
          </section>
        </>
      )}
    </div>
  );
}
