import { useRef, useState, type FormEvent } from "react";
import { post, upload, withQuery } from "../../api/client";
import type { FileEntry, Listing, TrashItem } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatBytes } from "../../components/format";
import { useAction, useApi } from "../../hooks/useApi";
import { setQuery, useLocation } from "../../router";
import { TrashView } from "./TrashView";

const join = (folder: string, name: string) => (folder ? `${folder}/${name}` : name);

/** A file browser confined to the workspace: ?path=<folder>, ?view=trash. */
export default function FilesPage() {
  const { query } = useLocation();
  const folder = query.get("path") ?? "";
  const inTrash = query.get("view") === "trash";
  const listing = useApi<Listing>(inTrash ? null : withQuery("/api/files", { path: folder }));
  const action = useAction();
  const [notice, setNotice] = useState<{ text: string; undo?: () => void } | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [progress, setProgress] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const open = (path: string) => setQuery("path", path);
  const done = (text: string, undo?: () => void) => {
    setNotice({ text, undo });
    listing.reload();
  };

  const remove = (e: FileEntry) =>
    action.run(async () => {
      const item = await post<TrashItem>("/api/files/delete", { path: e.path });
      done(`Moved ${e.name} to the trash.`, () =>
        action.run(async () => {
          await post(`/api/files/trash/${item.id}/restore`);
          done(`Restored ${e.name}.`);
        }),
      );
    });

  const rename = (e: FileEntry, name: string) =>
    action.run(async () => {
      setRenaming(null);
      if (name && name !== e.name) {
        await post("/api/files/rename", { path: e.path, to: join(folder, name) });
        done(`Renamed ${e.name} to ${name}.`);
      }
    });

  const mkdir = (ev: FormEvent<HTMLFormElement>) => {
    ev.preventDefault();
    const name = String(new FormData(ev.currentTarget).get("name") ?? "").trim();
    action.run(async () => {
      await post("/api/files/mkdir", { path: folder, name });
      setCreating(false);
      done(`Created ${name}.`);
    });
  };

  const uploadFiles = (files: FileList | null) =>
    action.run(async () => {
      for (const file of Array.from(files ?? [])) {
        await upload(withQuery("/api/files/upload", { path: folder, name: file.name }), file, (sent, total) =>
          setProgress(`Uploading ${file.name}: ${Math.round((100 * sent) / Math.max(1, total))}%`),
        );
      }
      done(`Uploaded ${files?.length ?? 0} file(s).`);
    }).finally(() => {
      setProgress(null);
      // Reset even after a refusal, or picking the same file again would not fire onChange.
      if (fileInput.current) fileInput.current.value = "";
    });

  const crumbs = folder ? folder.split("/") : [];
  return (
    <div className="page files-page">
      <h1>Files</h1>
      <div className="toolbar">
        <nav className="crumbs" aria-label="Folder">
          <button type="button" className="link" onClick={() => open("")}>
            workspace
          </button>
          {crumbs.map((c, i) => (
            <span key={i}>
              {" / "}
              <button type="button" className="link" onClick={() => open(crumbs.slice(0, i + 1).join("/"))}>
                {c}
              </button>
            </span>
          ))}
        </nav>
        {!inTrash && (
          <>
            <button type="button" onClick={() => setCreating(true)}>
              New folder
            </button>
            <button type="button" onClick={() => fileInput.current?.click()} disabled={action.busy}>
              Upload
            </button>
            <input ref={fileInput} type="file" multiple hidden aria-label="Files to upload" onChange={(e) => uploadFiles(e.target.files)} />
          </>
        )}
        <button type="button" className="ghost" onClick={() => setQuery("view", inTrash ? undefined : "trash")}>
          {inTrash ? "Back to files" : "Trash"}
        </button>
      </div>
      <ErrorBanner message={listing.error ?? action.error} onClose={action.error ? action.clearError : undefined} />
      {progress && <p className="hint">{progress}</p>}
      {notice && (
        <p className="notice" role="status">
          {notice.text}{" "}
          {notice.undo && (
            <button type="button" className="link" onClick={() => (setNotice(null), notice.undo?.())}>
              Undo
            </button>
          )}
        </p>
      )}
      {inTrash ? (
        <TrashView onRestored={(name) => setNotice({ text: `Restored ${name}.` })} />
      ) : (
        <div className="table-wrap">
          <table className="files" aria-label="Files">
            <thead>
              <tr>
                <th>Name</th>
                <th className="num">Size</th>
                <th className="desk-only">Modified</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {creating && (
                <tr>
                  <td colSpan={4}>
                    <form onSubmit={mkdir} className="inline-form">
                      <input name="name" aria-label="New folder name" placeholder="folder name" autoFocus required />
                      <button type="submit">Create</button>
                      <button type="button" className="ghost" onClick={() => setCreating(false)}>
                        Cancel
                      </button>
                    </form>
                  </td>
                </tr>
              )}
              {listing.data?.parent !== null && listing.data?.parent !== undefined && (
                <tr>
                  <td colSpan={4}>
                    <button type="button" className="link" onClick={() => open(listing.data!.parent!)}>
                      ↰ ..
                    </button>
                  </td>
                </tr>
              )}
              {listing.data?.entries.map((e) => (
                <tr key={e.path} data-testid={`file-${e.name}`}>
                  <td className="name">
                    {renaming === e.path ? (
                      <input
                        aria-label={`New name for ${e.name}`}
                        defaultValue={e.name}
                        autoFocus
                        onKeyDown={(ev) => {
                          if (ev.key === "Enter") rename(e, ev.currentTarget.value.trim());
                          if (ev.key === "Escape") setRenaming(null);
                        }}
                        onBlur={() => setRenaming(null)}
                      />
                    ) : e.kind === "dir" ? (
                      <button type="button" className="link" onClick={() => open(e.path)}>
                        {e.name}/
                      </button>
                    ) : e.kind === "file" && !e.protected ? (
                      <a href={withQuery("/api/files/download", { path: e.path })} download={e.name}>
                        {e.name}
                      </a>
                    ) : (
                      <span title={e.protected ? "holds secrets" : "points outside the workspace"}>
                        {e.name} <span className="muted">{e.protected ? "(secret)" : "↗"}</span>
                      </span>
                    )}
                  </td>
                  <td className="num">{e.kind === "file" ? formatBytes(e.size) : ""}</td>
                  <td className="desk-only muted">{new Date(e.mtime * 1000).toLocaleString()}</td>
                  <td className="row-actions">
                    {!e.protected && (
                      <>
                        <button type="button" className="ghost" onClick={() => setRenaming(e.path)}>
                          Rename
                        </button>
                        <button type="button" className="ghost" onClick={() => remove(e)}>
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {listing.data?.truncated && <p className="hint">Showing {listing.data.entries.length} of {listing.data.total} entries.</p>}
          {listing.data && listing.data.entries.length === 0 && <p className="muted">This folder is empty.</p>}
        </div>
      )}
    </div>
  );
}
