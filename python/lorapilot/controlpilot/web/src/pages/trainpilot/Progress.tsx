import { formatDuration } from "../../components/format";
import type { Job } from "./api";

/** Step/total bar with loss, speed and ETA. */
export function JobProgress({ job }: { job: Job }) {
  const total = job.total ?? job.planned_steps ?? null;
  const step = job.step ?? 0;
  const pct = total ? Math.min(100, (100 * step) / total) : 0;
  return (
    <div className="job-progress">
      <div
        className={`bar state-${job.state}`}
        role="progressbar"
        aria-label={`${job.name} progress`}
        aria-valuemin={0}
        aria-valuemax={total ?? undefined}
        aria-valuenow={step}
      >
        <span style={{ width: `${pct}%` }} />
      </div>
      <span className="stats" data-testid="job-stats">
        {step}/{total ?? "?"}
        {job.loss !== null && <> · loss {job.loss.toFixed(4)}</>}
        {job.its ? <> · {job.its.toFixed(2)} it/s</> : null}
        {job.state === "running" && job.eta_s !== null && <> · ETA {formatDuration(job.eta_s)}</>}
      </span>
    </div>
  );
}
