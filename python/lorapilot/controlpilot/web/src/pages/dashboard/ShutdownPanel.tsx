import { useEffect, useState } from "react";
import { del, get, post } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";

/** What GET /api/train/shutdown answers. */
interface StopState {
  scheduled: boolean;
  stop_command_set: boolean;
  mode?: "at" | "idle" | "after-queue";
  due_at?: number | null;
  seconds_left?: number | null;
  held_by?: string | null;
}

type Mode = "in" | "at" | "idle" | "after-queue";

function countdown(dueAt: number, now: number): string {
  const left = Math.max(0, Math.round(dueAt - now));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  return `${h > 0 ? `${h}:` : ""}${String(m).padStart(h > 0 ? 2 : 1, "0")}:${String(s).padStart(2, "0")}`;
}

/** "Stop this machine": in N minutes, at a time, after N minutes idle, or after the queue; a live countdown and a cancel. */
export function ShutdownPanel() {
  const [state, setState] = useState<StopState | null>(null);
  const [now, setNow] = useState(Date.now() / 1000);
  const [mode, setMode] = useState<Mode>("in");
  const [value, setValue] = useState("30m");
  const action = useAction();

  useEffect(() => {
    const load = () => get<StopState>("/api/trainpilot/shutdown").then(setState).catch(() => {});
    load();
    const poll = setInterval(load, 10000); // the server's view (idle start, held by a job)
    const tick = setInterval(() => setNow(Date.now() / 1000), 1000); // the countdown itself
    return () => {
      clearInterval(poll);
      clearInterval(tick);
    };
  }, []);

  const arm = () => action.run(() => post<StopState>("/api/trainpilot/shutdown", { mode, value }).then(setState));
  const cancel = () => action.run(() => del<StopState>("/api/trainpilot/shutdown").then(setState));
  const placeholder = { in: "30m", at: "23:00", idle: "20m", "after-queue": "" }[mode];

  return (
    <section className="card shutdown" aria-label="Machine stop">
      <h2>Stop this machine</h2>
      <ErrorBanner message={action.error} />
      {state && !state.stop_command_set && (
        <p className="hint">
          Set <code>[trainpilot] stop_command</code> in <code>config/lorapilot.toml</code> (e.g. <code>runpodctl stop pod $RUNPOD_POD_ID</code>) to
          enable this.
        </p>
      )}
      {state?.scheduled ? (
        <div role="status" data-testid="shutdown-status">
          {state.due_at ? (
            <p>
              Stops in <strong data-testid="shutdown-countdown">{countdown(state.due_at, now)}</strong> ({state.mode})
            </p>
          ) : (
            <p>{state.mode === "after-queue" ? "Stops once the training queue is empty." : "Stops after the machine has been idle long enough."}</p>
          )}
          {state.held_by && <p className="hint">Held: {state.held_by}</p>}
          <button type="button" onClick={cancel} disabled={action.busy}>
            Cancel machine stop
          </button>
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void arm();
          }}
        >
          <label>
            When
            <select value={mode} onChange={(e) => setMode(e.target.value as Mode)}>
              <option value="in">in (duration)</option>
              <option value="at">at (HH:MM)</option>
              <option value="idle">after idle for</option>
              <option value="after-queue">after the queue</option>
            </select>
          </label>
          {mode !== "after-queue" && (
            <label>
              Value
              <input value={value} placeholder={placeholder} onChange={(e) => setValue(e.target.value)} />
            </label>
          )}
          <button type="submit" disabled={action.busy || (state !== null && !state.stop_command_set)}>
            Schedule machine stop
          </button>
        </form>
      )}
    </section>
  );
}
