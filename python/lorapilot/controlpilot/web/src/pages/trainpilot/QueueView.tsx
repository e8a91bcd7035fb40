import { useEffect } from "react";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useApi } from "../../hooks/useApi";
import { Link } from "../../router";
import { TRAINERS, type Job, type QueueStatus } from "./api";
import { JobActions } from "./JobActions";
import { JobProgress } from "./Progress";
import { SavedProfiles } from "./SavedProfiles";
import { useQueue } from "./useQueue";

function JobRow({ job, queueIndex }: { job: Job; queueIndex?: number }) {
  return (
    <article className="card job-row" data-testid={`job-${job.id}`} data-state={job.state}>
      <header>
        <Link to={`/trainpilot/jobs/${job.id}`} className="job-name">
          #{job.id} {job.name}
        </Link>
        <span className="muted">
          {TRAINERS[job.trainer] ?? job.trainer} · {job.family} · {job.dataset}
        </span>
        <span className={`badge state-${job.state}`} data-testid="state">
          {job.state}
        </span>
      </header>
      <JobProgress job={job} />
      {job.error && <p className="hint">{job.error}</p>}
      <JobActions job={job} queueIndex={queueIndex} canSaveStop={job.can_save_stop} resumable={job.resumable} />
    </article>
  );
}

/** The queue: running jobs, the waiting line in order, then finished jobs. */
export function QueueView() {
  const { jobs } = useQueue();
  const status = useApi<QueueStatus>("/api/trainpilot/status");
  const reloadStatus = status.reload;
  useEffect(() => {
    const timer = setInterval(reloadStatus, 3000); // live: what the queue waits for changes without a job event
    return () => clearInterval(timer);
  }, [reloadStatus]);
  const queued = jobs?.filter((j) => j.state === "queued") ?? [];
  return (
    <div className="page train">
      <div className="page-head">
        <h1>TrainPilot</h1>
        <Link to="/trainpilot/new" className="button primary-link">
          New training
        </Link>
      </div>
      <ErrorBanner message={status.error} />
      {status.data && !status.data.worker_running && (
        <p className="hint" role="status">
          No queue worker is running: queued jobs wait until ControlPilot's worker or <code>lorapilot trainpilot worker</code> runs.
        </p>
      )}
      {status.data && <p className="muted">GPUs: {status.data.gpus.join(", ")}</p>}
      {status.data?.waiting_for && (
        <p className="hint" role="status" data-testid="queue-waiting">
          Job #{status.data.waiting_for.job} waits for GPU memory: {status.data.waiting_for.message}
        </p>
      )}
      {jobs === undefined && <p className="muted">Loading the queue…</p>}
      {jobs?.length === 0 && <p className="muted">No training jobs yet. Start with “New training”.</p>}
      <section className="job-list" aria-label="Training jobs">
        {jobs?.map((job) => (
          <JobRow key={job.id} job={job} queueIndex={job.state === "queued" ? queued.indexOf(job) : undefined} />
        ))}
      </section>
      <SavedProfiles />
    </div>
  );
}
