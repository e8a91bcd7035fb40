import { post } from "../../api/client";
import { useAction, useApi } from "../../hooks/useApi";
import { Link, navigate } from "../../router";
import type { Job } from "./api";

/** Profiles saved in config/trainpilot/profiles/: open one in the review step, or queue it as it is. */
export function SavedProfiles() {
  const names = useApi<string[]>("/api/trainpilot/profiles");
  const { busy, error, clearError, run } = useAction();
  const queue = (name: string) =>
    run(() => post<{ job: Job }>("/api/trainpilot/jobs", { profile_name: name })).then((r) => r && navigate(`/trainpilot/jobs/${r.job.id}`));
  if (!names.data?.length) return null;
  return (
    <section className="card" aria-label="Saved profiles">
      <h3>Saved profiles</h3>
      <ul className="plain">
        {names.data.map((name) => (
          <li key={name} className="job-actions">
            <strong>{name}</strong>
            <Link to={`/trainpilot/new?profile=${encodeURIComponent(name)}`} aria-label={`Edit ${name}`}>
              Edit
            </Link>
            <button type="button" disabled={busy} aria-label={`Queue ${name}`} onClick={() => queue(name)}>
              Queue
            </button>
          </li>
        ))}
      </ul>
      {error && (
        <p className="card-error" role="alert" onClick={clearError}>
          {error}
        </p>
      )}
    </section>
  );
}
