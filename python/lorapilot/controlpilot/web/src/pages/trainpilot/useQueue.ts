import { useState } from "react";
import { useEventSource } from "../../api/events";
import type { Job } from "./api";

/** The job list, live from /api/trainpilot/events (sent whenever a job changes). */
export function useQueue(): { jobs: Job[] | undefined; connection: string } {
  const [jobs, setJobs] = useState<Job[] | undefined>(undefined);
  const connection = useEventSource("/api/trainpilot/events", { queue: (data) => setJobs(data as Job[]) });
  return { jobs, connection };
}
