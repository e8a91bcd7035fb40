import { useState } from "react";
import { post } from "../../api/client";
import { useEvent, useLatestEvent } from "../../api/events";
import type { Service, Task } from "../../api/types";
import { formatBytes, formatDuration } from "../../components/format";
import { useAction } from "../../hooks/useApi";
import { Link } from "../../router";

const STATE_LABEL: Record<Service["state"], string> = {
  running: "running",
  starting: "starting",
  stopping: "stopping",
  stopped: "stopped",
  exited: "exited",
  failed: "failed",
  disabled: "not started",
  not_installed: "not installed",
  unknown: "unknown",
};

function readyLight(s: Service): { cls: string; label: string } {
  if (s.state !== "running") return { cls: "off", label: "not running" };
  if (s.ready === true) return { cls: "ok", label: "ready" };
  if (s.ready === false) return { cls: "wait", label: "not ready yet" };
  return { cls: "ok", label: "running (no readiness probe)" };
}

/** The dashboard's card for one service. */
export function ServiceCard({
  service: s,
  managerUp,
  onChanged,
}: {
  service: Service;
  /** false: the process manager does not answer, so nothing can be started or stopped. */
  managerUp: boolean;
  onChanged: (s: Service) => void;
}) {
  const { busy, error, clearError, run } = useAction();
  const act = (verb: "start" | "stop" | "restart") =>
    run(async () => onChanged(await post<Service>(`/api/services/${encodeURIComponent(s.name)}/${verb}`)));
  const installKind = `install:${s.name}`;
  const latestTasks = useLatestEvent<{ tasks: Task[] }>("tasks");
  const [install, setInstall] = useState<Task | undefined>(() => latestTasks?.tasks.find((t) => t.kind === installKind));
  // The install's progress arrives as `tasks` events; its end re-plans the services, so a
  // `services` event then turns this card installed.
  useEvent<{ tasks: Task[] }>("tasks", (d) => setInstall(d.tasks.find((t) => t.kind === installKind)));
  const installing = install?.state === "running" || install?.state === "queued";
  const startInstall = () =>
    run(async () => {
      await post<{ task_id: string }>(`/api/services/${encodeURIComponent(s.name)}/install`);
    });
  const light = readyLight(s);
  const active = s.state === "running" || s.state === "starting";
  const isSelf = s.name === "controlpilot";
  return (
    <article className="card service-card" data-testid={`service-${s.name}`} data-state={s.state} data-ready={String(s.ready)}>
      <header>
        <span className={`light ${light.cls}`} title={light.label} aria-label={light.label} />
        <h3>{s.title}</h3>
        <span className={`badge state-${s.state}`} data-testid="state">
          {STATE_LABEL[s.state]}
        </span>
      </header>
      <dl className="facts">
        <div>
          <dt>port</dt>
          <dd>{s.port || "–"}</dd>
        </div>
        <div>
          <dt>uptime</dt>
          <dd>{formatDuration(s.uptime_s)}</dd>
        </div>
        <div>
          <dt>memory</dt>
          <dd>{formatBytes(s.memory_bytes)}</dd>
        </div>
        <div>
          <dt>restarts</dt>
          <dd data-testid="restarts">{s.restarts}</dd>
        </div>
      </dl>
      {!s.installed && installing && install && (
        <div className="install-progress" data-testid="install-progress">
          {install.total ? <progress max={install.total} value={install.current} /> : <progress />}
          <p className="hint">{install.message || "installing…"}</p>
        </div>
      )}
      {!s.installed && install?.state === "failed" && (
        <p className="card-error" role="alert">
          Install failed: {install.error}
        </p>
      )}
      {!s.installed && !installing && s.install_hint && (
        <p className="hint">
          Not installed. Install it here, or in a terminal: <code>{s.install_hint}</code>
        </p>
      )}
      {s.exit_code !== null && s.exit_code !== 0 && <p className="hint">exit code {s.exit_code}</p>}
      {s.restart_reason && (
        <p className="hint" data-testid="restart-reason"
           title={s.restarted_at ? new Date(s.restarted_at * 1000).toLocaleString() : undefined}>
          last restart: {s.restart_reason}
        </p>
      )}
      {error && (
        <p className="card-error" role="alert" onClick={clearError}>
          {error}
        </p>
      )}
      <footer>
        {s.installed && managerUp && (
          <>
            {active ? (
              <button
                type="button"
                disabled={busy || isSelf}
                title={isSelf ? "ControlPilot is this dashboard; stop it from the terminal" : undefined}
                onClick={() => act("stop")}
              >
                Stop
              </button>
            ) : (
              <button type="button" disabled={busy} onClick={() => act("start")}>
                Start
              </button>
            )}
            <button type="button" disabled={busy || !active || isSelf} onClick={() => act("restart")}>
              Restart
            </button>
          </>
        )}
        {!s.installed && s.install_hint && (
          <button type="button" disabled={busy || installing} onClick={startInstall}>
            {installing ? "Installing…" : "Install"}
          </button>
        )}
        <Link to={`/services/${encodeURIComponent(s.name)}`} className="button ghost">
          Logs
        </Link>
        {s.url && s.state === "running" && !isSelf && (
          <a className="button ghost" href={s.url} target="_blank" rel="noreferrer">
            Open ↗
          </a>
        )}
      </footer>
    </article>
  );
}
