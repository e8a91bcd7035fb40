import { useState } from "react";
import type { Task } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import { cancelTask } from "./api";
import { aspectsUrl, bulkCrop, type AspectPreset } from "./cropApi";
import TaskProgress from "./TaskProgress";
import { finished, useOnTrue, useTask } from "./useTask";

interface CropReport { aspect: string; cropped: string[]; failed: Record<string, string> }

/** Crop every selected image to one aspect around its own focus point (the centre until one is set),
 *  as a task with live progress. Shown while images are selected or a crop it started is on screen. */
export default function BulkCrop({ name, images, onFinished }: { name: string; images: string[]; onFinished: () => void }) {
  const presets = useApi<{ aspects: AspectPreset[] }>(aspectsUrl);
  const [aspect, setAspect] = useState("1:1");
  const job = useTask();
  const action = useAction();
  useOnTrue(finished(job.task), onFinished);
  if (!images.length && !job.task) return null;
  const report = (job.task as (Task & { result?: CropReport }) | undefined)?.result;
  const start = () => action.run(async () => job.follow(await bulkCrop(name, aspect, images)));

  return (
    <section className="card tp-bulk-crop" aria-label="Crop selected images">
      <div className="tp-row tp-wrap">
        <strong>Crop</strong>
        <span className="muted">{images.length} selected images to</span>
        <select aria-label="Bulk crop aspect" value={aspect} onChange={(e) => setAspect(e.target.value)}>
          {(presets.data?.aspects ?? []).filter((a) => a.name !== "free").map((a) => <option key={a.name}>{a.name}</option>)}
        </select>
        <span className="muted" title="the centre until a focus point is set; originals are kept">around each focus point</span>
        <span className="tp-spacer" />
        <button className="primary" disabled={!images.length || action.busy || (!!job.task && !finished(job.task))}
          onClick={() => void start()}>Crop selected</button>
        {job.task && finished(job.task) && <button className="link" onClick={job.clear} aria-label="Close crop report">✕</button>}
      </div>
      <ErrorBanner message={action.error ?? presets.error} onClose={action.clearError} />
      {job.task && <TaskProgress task={job.task} onCancel={() => void cancelTask(job.task!.id)} />}
      {report && (
        <p className="muted" role="status">
          {report.cropped.length} cropped to {report.aspect}
          {Object.entries(report.failed).map(([image, error]) => <span key={image} className="card-error"> · {image}: {error}</span>)}
        </p>
      )}
    </section>
  );
}
