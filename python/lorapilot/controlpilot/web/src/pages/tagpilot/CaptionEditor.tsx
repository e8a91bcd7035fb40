import { useEffect, useState } from "react";
import { ApiError, get } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";
import { base, imageUrl, saveCaption, type Caption, type ImageRecord } from "./api";
import CropEditor from "./CropEditor";
import TagInput from "./TagInput";

/** Edit one caption as text or as a comma list of tags. A stale save (409) shows the current text. */
export default function CaptionEditor({ name, image, onSaved, onClose }: {
  name: string;
  image: ImageRecord | undefined;
  onSaved: () => void;
  onClose: () => void;
}) {
  const [text, setText] = useState(image?.caption ?? "");
  const [version, setVersion] = useState(image?.version ?? "");
  const [conflict, setConflict] = useState<Caption | null>(null);
  const [cropping, setCropping] = useState(false);
  const save = useAction();
  useEffect(() => {
    setText(image?.caption ?? "");
    setVersion(image?.version ?? "");
    setConflict(null);
  }, [image?.name, image?.version, image?.caption]);
  useEffect(() => setCropping(false), [image?.name]);
  if (!image) return null;

  const submit = () =>
    save.run(async () => {
      try {
        const saved = await saveCaption(name, image.name, text, version);
        setVersion(saved.version);
        setConflict(null);
        onSaved();
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) {
          // The 409 body carries the current caption too; the client keeps only `detail`, so read it again.
          const now = await get<ImageRecord>(`${base(name)}/images/${encodeURIComponent(image.name)}`);
          setConflict({ text: now.caption, version: now.version, exists: now.has_caption, non_utf8: now.non_utf8 });
        }
        throw err;
      }
    });
  const tags = text.split(",").map((t) => t.trim()).filter(Boolean);

  return (
    <section className="card tp-editor" aria-label={`Caption of ${image.name}`}
      onKeyDown={(e) => { if (e.key === "Escape") onClose(); if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit(); }}>
      <header className="tp-row">
        <h3>{image.name}</h3>
        {image.non_utf8 && <span className="badge">non-UTF-8: saving writes UTF-8</span>}
        <span className="tp-spacer" />
        {!cropping && image.kind !== "clip" && <button onClick={() => setCropping(true)} title="Crop to an aspect around a focus point; the original is kept">Crop…</button>}
        <button className="link" onClick={onClose} aria-label="Close editor">✕</button>
      </header>
      <div className="tp-editor-body">
        {cropping ? <CropEditor name={name} image={image.name} onSaved={onSaved} onClose={() => setCropping(false)} />
          : image.kind === "clip" && !image.error
          ? <video src={imageUrl(name, image.name, "file")} poster={imageUrl(name, image.name, "thumb", 512, image.mtime_ns)} controls loop muted aria-label={image.name} />
          : <img src={imageUrl(name, image.name, "thumb", 512, image.mtime_ns)} alt={image.name} />}
        <div className="tp-editor-fields">
          <label>
            Caption
            <textarea rows={4} value={text} onChange={(e) => setText(e.target.value)} aria-label="Caption text" />
          </label>
          <TagInput name={name} tags={tags} onChange={(next) => setText(next.join(", "))} />
          <ErrorBanner message={save.error} onClose={save.clearError} />
          {conflict && (
            <div className="tp-conflict" role="status">
              Changed elsewhere: <q>{conflict.text}</q>
              <button onClick={() => { setText(conflict.text); setVersion(conflict.version); setConflict(null); save.clearError(); }}>
                Use current
              </button>
              <button onClick={() => { setVersion(conflict.version); setConflict(null); save.clearError(); }}>
                Keep mine (overwrite)
              </button>
            </div>
          )}
          <div className="tp-row">
            <button className="primary" disabled={save.busy || text === image.caption} onClick={() => void submit()}>Save</button>
            <span className="hint">Ctrl+Enter saves · Escape closes · arrows move between images</span>
          </div>
        </div>
      </div>
    </section>
  );
}
