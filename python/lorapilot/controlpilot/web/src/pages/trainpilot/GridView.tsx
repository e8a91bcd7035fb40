// The job's LoRA test grid: checkpoints × weights (rows) by prompts (columns), with a form to render it
// again and live progress; a cell opens MediaPilot's compare view across checkpoints at its weight and prompt.

import { useEffect, useState } from "react";
import { post } from "../../api/client";
import { useLatestEvent } from "../../api/events";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import { Link } from "../../router";
import { fileUrl, type GridCell, type GridStatus, type JobDetail } from "./api";

interface TaskEvent {
  tasks: { id: string; state: string; current: number; total: number | null; message: string; error: string | null }[];
}

/** MediaPilot queries: every cell of this grid, and one cell's column across checkpoints (same weight, prompt). */
function compareLink(job: JobDetail, folder: string, cell: GridCell): string {
  const cells = `path:"trainpilot/${job.run_dir.split("/").pop()}/${folder}/cells/"`;
  const file = cell.file.split("/").pop() ?? "";
  const sameWeightAndPrompt = file.replace(/^c\d+/, "").replace(/\.png$/, ""); // "_w01_p00"
  return `/mediapilot?q=${encodeURIComponent(cells)}&compare=${encodeURIComponent(`${cells} name:"${sameWeightAndPrompt}"`)}`;
}

export function GridView({ job }: { job: JobDetail }) {
  const status = useApi<GridStatus>(`/api/trainpilot/jobs/${job.id}/grid`);
  const { busy, error, run } = useAction();
  const [weights, setWeights] = useState("0.6,0.8,1.0");
  const [checkpoints, setCheckpoints] = useState("all");
  const [taskId, setTaskId] = useState<string | null>(null);
  const events = useLatestEvent<TaskEvent>("tasks");
  const id = taskId ?? status.data?.task?.id;
  const task = events?.tasks.find((t) => t.id === id) ?? (status.data?.task?.id === id ? status.data?.task : undefined);
  const running = task && (task.state === "queued" || task.state === "running");
  const { reload } = status;
  useEffect(() => {
    if (task && (task.state === "done" || task.state === "failed")) reload();
  }, [task?.state, reload]);

  const start = () =>
    run(() =>
      post<{ task_id: string }>(`/api/trainpilot/jobs/${job.id}/grid`, {
        weights: weights.split(",").map((w) => w.trim()).filter(Boolean).map(Number),
        checkpoints,
      }),
    ).then((r) => r && setTaskId(r.task_id));

  const manifest = status.data?.manifest;
  const folder = status.data?.folder ?? "grid";
  const byPlace = new Map(manifest?.cells.map((c) => [`${c.row}:${c.col}`, c]));
  return (
    <section className="card grid-card" aria-label="Test grid">
      <h3>Test grid</h3>
      <ErrorBanner message={status.error ?? error ?? (task?.state === "failed" ? task.error : null)} />
      <div className="grid-form">
        <label>
          Weights <input value={weights} onChange={(e) => setWeights(e.target.value)} aria-label="Weights" size={14} />
        </label>
        <label>
          Checkpoints{" "}
          <select value={checkpoints} onChange={(e) => setCheckpoints(e.target.value)} aria-label="Checkpoints">
            <option value="all">all</option>
            <option value="last">last</option>
            <option value="3">3</option>
            <option value="5">5</option>
          </select>
        </label>
        <button type="button" disabled={busy || !!running || job.state !== "done"} onClick={start}>
          {manifest ? "Render again" : "Render grid"}
        </button>
        {running && (
          <span className="muted" data-testid="grid-progress">
            <progress value={task.current} max={task.total ?? undefined} /> {task.current}/{task.total ?? "?"} {task.message}
          </span>
        )}
      </div>
      {!manifest && !running && <p className="muted">No grid yet.</p>}
      {manifest && (
        <>
          <p className="muted">
            {manifest.cells.length} images by {manifest.renderer} · fixed seeds per prompt ·{" "}
            <a href={fileUrl(job.id, `${folder}/${manifest.grid}`)} target="_blank" rel="noreferrer">
              composed grid
            </a>{" "}
            · click a cell to compare its checkpoints in MediaPilot
          </p>
          <div className="grid-scroll">
            <table className="lora-grid">
              <thead>
                <tr>
                  <th />
                  {manifest.cols.map((col, i) => (
                    <th key={i} scope="col">{col}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {manifest.rows.map((row, r) => (
                  <tr key={r}>
                    <th scope="row">{row}</th>
                    {manifest.cols.map((col, c) => {
                      const cell = byPlace.get(`${r}:${c}`);
                      return (
                        <td key={c}>
                          {cell && (
                            <Link to={compareLink(job, folder, cell)} title={`${row} · ${col} · seed ${cell.seed}`}>
                              <img src={fileUrl(job.id, `${folder}/${cell.file}`)} alt={`${row}, ${col}`} loading="lazy" />
                            </Link>
                          )}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
