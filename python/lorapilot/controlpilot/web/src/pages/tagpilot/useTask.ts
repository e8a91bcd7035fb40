import { useEffect, useRef, useState } from "react";
import { useLatestEvent } from "../../api/events";
import type { Task } from "../../api/types";

/** Follow one background task by id through the shared `tasks` event (no polling). */
export function useTask(): { task: Task | undefined; follow: (t: Task) => void; clear: () => void } {
  const [started, setStarted] = useState<Task | undefined>();
  const live = useLatestEvent<{ tasks: Task[] }>("tasks");
  const current = started && (live?.tasks.find((t) => t.id === started.id) ?? started);
  return { task: current, follow: setStarted, clear: () => setStarted(undefined) };
}

export const finished = (task: Task | undefined) =>
  !!task && (task.state === "done" || task.state === "failed" || task.state === "cancelled");

/** Call `fn` once each time `flag` turns true (the latest `fn`, without re-running on its identity). */
export function useOnTrue(flag: boolean, fn: () => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (flag) ref.current();
  }, [flag]);
}

/** Call `fn` when a task of `kind` ends that this view has not seen end yet: work started elsewhere (an
 * import the dataset list began before opening the dataset) shows up when it finishes. */
export function useTaskEnds(kind: string, fn: () => void): void {
  const live = useLatestEvent<{ tasks: Task[] }>("tasks");
  const seen = useRef(new Set<string>());
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    const ended = (live?.tasks ?? []).filter((t) => t.kind === kind && finished(t) && !seen.current.has(t.id));
    ended.forEach((t) => seen.current.add(t.id));
    if (ended.length) ref.current();
  }, [live, kind]);
}
