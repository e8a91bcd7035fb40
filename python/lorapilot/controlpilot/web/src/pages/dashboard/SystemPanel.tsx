import { useEffect, useState } from "react";
import { errorMessage, get } from "../../api/client";
import { useEvent } from "../../api/events";
import type { SystemHistory, SystemSnapshot } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatBytes, formatPercent } from "../../components/format";
import { Sparkline } from "../../components/Sparkline";

const WINDOW_MIN = 15;
const MAX_POINTS = 180;

interface Series {
  cpu: (number | null)[];
  ram: (number | null)[];
  gpuUtil: (number | null)[][];
  vram: (number | null)[][];
}

function fromHistory(h: SystemHistory): Series {
  return {
    cpu: h.cpu,
    ram: h.ram_used,
    gpuUtil: h.gpus.map((g) => g.util),
    vram: h.gpus.map((g) => g.vram_used),
  };
}

function append(s: Series, snap: SystemSnapshot): Series {
  const keep = <T,>(xs: T[], x: T) => [...xs, x].slice(-MAX_POINTS);
  const ramUsed = snap.host.cgroup.memory_limit_bytes ? snap.host.cgroup.memory_used_bytes : snap.host.memory_used_bytes;
  return {
    cpu: keep(s.cpu, snap.host.cpu_percent),
    ram: keep(s.ram, ramUsed ?? null),
    gpuUtil: snap.gpus.map((g, i) => keep(s.gpuUtil[i] ?? [], g.utilization_pct ?? null)),
    vram: snap.gpus.map((g, i) => keep(s.vram[i] ?? [], g.memory_used_bytes ?? null)),
  };
}

/** Live CPU, RAM, GPU and VRAM graphs: the last 15 minutes, then every `system` event. */
export function SystemPanel() {
  const [snap, setSnap] = useState<SystemSnapshot>();
  const [series, setSeries] = useState<Series>({ cpu: [], ram: [], gpuUtil: [], vram: [] });
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    Promise.all([
      get<SystemSnapshot>("/api/system"),
      get<SystemHistory>(`/api/system/history?minutes=${WINDOW_MIN}&points=${MAX_POINTS}`),
    ])
      .then(([s, h]) => {
        setSnap((current) => current ?? s);
        setSeries(fromHistory(h));
      })
      .catch((err) => setError(errorMessage(err)));
  }, []);
  useEvent<SystemSnapshot>("system", (s) => {
    setSnap(s);
    setSeries((current) => append(current, s));
  });

  if (error) return <ErrorBanner message={error} />;
  if (!snap) return <p className="muted">Loading telemetry…</p>;
  const host = snap.host;
  const limit = host.cgroup.memory_limit_bytes;
  const ramTotal = limit ? Math.min(limit, host.memory_total_bytes) : host.memory_total_bytes;
  const ramUsed = limit && host.cgroup.memory_used_bytes !== null ? host.cgroup.memory_used_bytes : host.memory_used_bytes;
  const cores = host.cgroup.cpu_limit_cores ?? host.cpu_count;
  return (
    <section className="system" aria-label="System">
      {snap.driver_warning && (
        <div className="error-banner" role="alert" data-testid="driver-warning">
          {snap.driver_warning}
        </div>
      )}
      <div className="graphs">
        {snap.gpus.map((g, i) => (
          <div key={g.index} className="card gpu" data-testid={`gpu-${g.index}`}>
            <h3>
              GPU {g.index}: {g.name}
            </h3>
            <Sparkline label="GPU" values={series.gpuUtil[i] ?? []} max={100} value={formatPercent(g.utilization_pct)} />
            <Sparkline
              label="VRAM"
              values={series.vram[i] ?? []}
              max={g.memory_total_bytes ?? 1}
              value={`${formatBytes(g.memory_used_bytes)} / ${formatBytes(g.memory_total_bytes)}`}
            />
            <p className="hint">
              {g.temperature_c != null && `${Math.round(g.temperature_c)} °C`}
              {g.power_w != null && ` · ${Math.round(g.power_w)} W${g.power_limit_w ? ` / ${Math.round(g.power_limit_w)} W` : ""}`}
            </p>
            {g.processes.length > 0 && (
              <ul className="gpu-procs">
                {g.processes.map((p) => (
                  <li key={p.pid}>
                    <span>{p.component ?? p.name ?? `pid ${p.pid}`}</span>
                    <span>{formatBytes(p.used_memory_bytes)}</span>
                  </li>
                ))}
              </ul>
            )}
          </div>
        ))}
        <div className="card host">
          <h3>This machine</h3>
          <Sparkline label="CPU" values={series.cpu} max={100} value={formatPercent(host.cpu_percent)} />
          <Sparkline label="RAM" values={series.ram} max={ramTotal} value={`${formatBytes(ramUsed)} / ${formatBytes(ramTotal)}`} />
          <p className="hint">
            {cores} {cores === 1 ? "core" : "cores"}
            {limit ? ` · container limit ${formatBytes(limit)}` : ""}
            {host.disk && ` · workspace disk ${formatBytes(host.disk.free_bytes)} free of ${formatBytes(host.disk.total_bytes)}`}
          </p>
          {snap.gpus.length === 0 && <p className="hint" data-testid="no-gpu">No GPU: {snap.gpu_reason}</p>}
        </div>
      </div>
    </section>
  );
}
