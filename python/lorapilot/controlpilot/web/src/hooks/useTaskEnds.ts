import { useEffect, useRef } from "react";

/** Calls `onEnd` whenever a task in `tasks` is seen in an end state (done, failed, cancelled) that was not
 * ended at the previous look; tasks already ended at the first look do not count. Watching for "was
 * running, now idle" instead would miss a quick task that starts and ends between two task events. */
export function useTaskEnds(tasks: { id: string; state: string }[], onEnd: () => void): void {
  const seen = useRef<Set<string> | null>(null);
  const key = tasks
    .filter((t) => t.state !== "running" && t.state !== "queued")
    .map((t) => t.id)
    .join(",");
  useEffect(() => {
    const now = new Set(key ? key.split(",") : []);
    const before = seen.current;
    seen.current = now;
    if (before && [...now].some((id) => !before.has(id))) onEnd();
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps
}
