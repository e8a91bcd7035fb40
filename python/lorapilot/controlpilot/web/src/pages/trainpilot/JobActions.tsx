import { post } from "../../api/client";
import { useAction } from "../../hooks/useApi";
import { navigate } from "../../router";
import type { Job } from "./api";

/** Cancel (save or kill), resume, retry and reorder buttons for one job. */
export function JobActions({
  job,
  canSaveStop,
  resumable,
  queueIndex,
  onDone,
}: {
  job: Job;
  canSaveStop?: boolean;
  resumable?: boolean;
  queueIndex?: number;
  onDone?: () => void;
}) {
  const { busy, error, clearError, run } = useAction();
  const call = (path: string, body?: unknown) => run(() => post(`/api/trainpilot/jobs/${job.id}/${path}`, body)).then(onDone);
  const finished = job.state === "done" || job.state === "failed" || job.state === "cancelled";
  return (
    <div className="job-actions">
      {job.state === "queued" && queueIndex !== undefined && (
        <>
          <button type="button" disabled={busy || queueIndex === 0} aria-label="Move up" onClick={() => call("move", { index: queueIndex - 1 })}>
            ↑
          </button>
          <button type="button" disabled={busy} aria-label="Move down" onClick={() => call("move", { index: queueIndex + 1 })}>
            ↓
          </button>
        </>
      )}
      {job.state === "running" && canSaveStop !== false && (
        <button type="button" disabled={busy || job.cancel_request !== null} onClick={() => call("cancel", { mode: "save" })}>
          Stop &amp; save
        </button>
      )}
      {(job.state === "running" || job.state === "queued") && (
        <button type="button" disabled={busy || job.cancel_request === "kill"} onClick={() => call("cancel", { mode: "kill" })}>
          {job.state === "queued" ? "Cancel" : "Kill"}
        </button>
      )}
      {(job.state === "failed" || job.state === "cancelled") && resumable !== false && (
        <button type="button" disabled={busy} onClick={() => call("resume")}>
          Resume
        </button>
      )}
      {finished && (
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            run(() => post<Job>(`/api/trainpilot/jobs/${job.id}/retry`)).then((j) => j && navigate(`/trainpilot/jobs/${j.id}`))
          }
        >
          Retry
        </button>
      )}
      {error && (
        <span className="card-error" role="alert" onClick={clearError}>
          {error}
        </span>
      )}
    </div>
  );
}
