import { useState } from "react";
import { errorMessage, post, upload } from "../../api/client";
import type { Task } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";
import { base, cancelTask } from "./api";
import TaskProgress from "./TaskProgress";
import { finished, useOnTrue, useTask } from "./useTask";

interface ImportReport {
  imported: string[];
  captions: number;
  renamed: Record<string, string>;
  skipped: { file: string; reason: string }[];
  warnings: { file: string; reason: string }[];
}

const clipCount = (names: string[]) => names.filter((n) => /\.(mp4|webm|mov)$/i.test(n)).length;

/** Add images and video clips: uploads (images, mp4/webm/mov clips, .txt captions, zips) or a folder inside the workspace. Zip and folder
 *  imports run as tasks: live progress, cancel, and what was imported, renamed, skipped or undecodable. */
export default function ImportBar({ name, onImported }: { name: string; onImported: () => void }) {
  const [folderOpen, setFolderOpen] = useState(false);
  const [folder, setFolder] = useState("");
  const [move, setMove] = useState(false);
  const job = useTask();
  const action = useAction();
  const done = finished(job.task);
  useOnTrue(done, onImported);
  const report = (job.task as (Task & { result?: ImportReport }) | undefined)?.result;

  const addFiles = async (files: FileList | null) => {
    if (!files) return;
    await action.run(async () => {
      const refused: string[] = [];
      for (const file of Array.from(files)) {
        if (file.name.toLowerCase().endsWith(".zip")) {
          await upload<Task>(`${base(name)}/import/zip`, file).then(job.follow, (err) => refused.push(errorMessage(err)));
        } else {
          await upload(`${base(name)}/files/${encodeURIComponent(file.name)}`, file).catch((err) => refused.push(errorMessage(err)));
        }
      }
      if (refused.length) throw new Error(`${refused.length} of ${files.length} files refused: ${refused.join("; ")}`);
    });
    onImported();
  };
  const importFolder = () =>
    action.run(async () => {
      job.follow(await post<Task>(`${base(name)}/import/folder`, { path: folder, move }));
      return true;
    }).then((started) => started && setFolderOpen(false));

  return (
    <>
      <label className="button ghost tp-file">
        Add images…
        <input type="file" multiple accept="image/png,image/jpeg,image/webp,image/bmp,video/mp4,video/webm,video/quicktime,.mov,.txt,.zip" hidden
          onChange={(e) => { void addFiles(e.target.files); e.target.value = ""; }} />
      </label>
      <button className="ghost" onClick={() => setFolderOpen((o) => !o)}>Import folder…</button>
      {(folderOpen || job.task || action.error) && (
        <div className="tp-import" aria-label="Import">
          <ErrorBanner message={action.error} onClose={action.clearError} />
          {folderOpen && (
            <form className="tp-row" onSubmit={(e) => { e.preventDefault(); void importFolder(); }}>
              <input aria-label="Folder to import" placeholder="a folder inside the workspace, e.g. uploads/my-photos"
                value={folder} onChange={(e) => setFolder(e.target.value)} autoFocus />
              <label className="tp-inline"><input type="checkbox" checked={move} onChange={(e) => setMove(e.target.checked)} /> move</label>
              <button className="primary" disabled={!folder || action.busy}>Import</button>
            </form>
          )}
          {job.task && <TaskProgress task={job.task} onCancel={() => void action.run(() => cancelTask(job.task!.id))} />}
          {report && (
            <div data-testid="import-report">
              <p>
                {clipCount(report.imported) > 0
                  ? `${report.imported.length - clipCount(report.imported)} images, ${clipCount(report.imported)} clips`
                  : `${report.imported.length} images`} and {report.captions} captions imported
                {Object.keys(report.renamed).length > 0 && `, ${Object.keys(report.renamed).length} renamed to avoid a clash`}
                {report.skipped.length > 0 && `, ${report.skipped.length} skipped`}
              </p>
              {[...report.warnings, ...report.skipped].map((w) => <p key={w.file} className="card-error">{w.file}: {w.reason}</p>)}
            </div>
          )}
        </div>
      )}
    </>
  );
}
