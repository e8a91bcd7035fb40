// The lightbox: the image or video, its metadata panel, and keyboard navigation
// (← → move, Esc closes, F favourite, Delete trash, C copy the prompt).

import { useEffect, useState } from "react";
import { errorMessage, get, post } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatBytes } from "../../components/format";
import { copyText } from "./clipboard";
import { fileUrl, type MediaDetail, type MediaItem } from "./types";

interface Props {
  items: MediaItem[];
  index: number;
  onMove: (index: number) => void;
  onClose: () => void;
  onTrash: (id: number) => void;
  onChanged: () => void;
}

export function Lightbox({ items, index, onMove, onClose, onTrash, onChanged }: Props) {
  const item = items[index];
  const [detail, setDetail] = useState<MediaDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [tag, setTag] = useState("");

  const load = () =>
    get<MediaDetail>(`/api/mediapilot/${item.id}`)
      .then(setDetail)
      .catch((e) => setError(errorMessage(e)));

  useEffect(() => {
    setDetail(null);
    setError(null);
    setNote(null);
    load();
  }, [item.id]);

  const act = async (what: () => Promise<unknown>, done?: string) => {
    try {
      await what();
      if (done) setNote(done);
      await load();
      onChanged();
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  const toggleFav = () => act(() => post("/api/mediapilot/favourite", { ids: [item.id], value: !(detail?.fav ?? item.fav) }));
  const copyPrompt = async () => {
    if (!detail?.positive) return; // the button is disabled then
    if (await copyText(detail.positive)) setNote("prompt copied");
    else setError("the browser did not let the page copy: select the prompt below and copy it");
  };
  const sendToComfy = () =>
    act(async () => {
      const answer = await post<{ prompt_id?: string }>(`/api/mediapilot/${item.id}/send-to-comfy`, {});
      setNote(`queued in ComfyUI (${answer.prompt_id ?? "ok"})`);
    });

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement) return;
      if (e.key === "Escape") onClose();
      else if (e.key === "ArrowRight" && index < items.length - 1) onMove(index + 1);
      else if (e.key === "ArrowLeft" && index > 0) onMove(index - 1);
      else if (e.key === "f") toggleFav();
      else if (e.key === "Delete") onTrash(item.id);
      else if (e.key === "c") copyPrompt();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  const d = detail;
  const rows: [string, string | number | null | undefined][] = d
    ? [
        ["source", d.source],
        ["model", d.model],
        ["seed", d.seed],
        ["steps", d.steps],
        ["cfg", d.cfg],
        ["sampler", d.sampler],
        ["scheduler", d.scheduler],
        ["denoise", d.denoise],
        ["size", d.gen_width ? `${d.gen_width}×${d.gen_height}` : null],
        ["pixels", d.width ? `${d.width}×${d.height}` : null],
        ["file", `${d.root}/${d.rel} · ${formatBytes(d.size)}`],
      ]
    : [];
  return (
    <div className="lightbox" role="dialog" aria-modal="true" aria-label={item.name}>
      <div className="lightbox-view" onClick={onClose}>
        {item.kind === "video" ? (
          <video key={item.id} src={fileUrl(item)} controls autoPlay loop onClick={(e) => e.stopPropagation()} />
        ) : (
          <img key={item.id} src={fileUrl(item)} alt={item.name} onClick={(e) => e.stopPropagation()} />
        )}
        <span className="lightbox-count muted">
          {index + 1} / {items.length}
        </span>
      </div>
      <aside className="lightbox-meta" aria-label="Metadata">
        <header>
          <h3 title={item.name}>{item.name}</h3>
          <button type="button" className="link" aria-label="Close" onClick={onClose}>
            ✕
          </button>
        </header>
        <ErrorBanner message={error} onClose={() => setError(null)} />
        {note && <p className="hint" role="status">{note}</p>}
        {item.error && <p className="card-error">⚠ {item.error}</p>}
        <div className="lightbox-actions">
          <button type="button" onClick={toggleFav} aria-pressed={!!d?.fav}>
            {d?.fav ? "★ Favourite" : "☆ Favourite"}
          </button>
          <button type="button" onClick={copyPrompt} disabled={!d?.positive}>
            Copy prompt
          </button>
          {d?.has_workflow || d?.source === "comfyui" ? (
            <>
              <button type="button" onClick={sendToComfy}>
                Send to ComfyUI
              </button>
              <a className="button" href={`/api/mediapilot/${item.id}/workflow`} download>
                Workflow
              </a>
            </>
          ) : null}
          <a className="button" href={fileUrl(item)} download={item.name}>
            Download
          </a>
          <button type="button" onClick={() => onTrash(item.id)}>
            Move to trash
          </button>
        </div>
        {d && (
          <>
            <dl className="meta-table">
              {rows
                .filter(([, v]) => v !== null && v !== undefined && v !== "")
                .map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{String(v)}</dd>
                  </div>
                ))}
            </dl>
            {d.loras.length > 0 && (
              <section aria-label="LoRAs">
                <h4>LoRAs</h4>
                <ul className="lora-list">
                  {d.loras.map((l) => (
                    <li key={l.name}>
                      <span>{l.name}</span> <span className="muted">{l.weight ?? ""}</span>
                    </li>
                  ))}
                </ul>
              </section>
            )}
            {d.positive && (
              <section>
                <h4>Prompt</h4>
                <p className="prompt">{d.positive}</p>
              </section>
            )}
            {d.negative && (
              <section>
                <h4>Negative</h4>
                <p className="prompt">{d.negative}</p>
              </section>
            )}
            <section aria-label="Tags">
              <h4>Tags</h4>
              <div className="tags">
                {d.tags.map((t) => (
                  <button key={t} type="button" className="tag" title="Remove tag"
                    onClick={() => act(() => post("/api/mediapilot/tags", { ids: [item.id], remove: [t] }))}>
                    {t} ✕
                  </button>
                ))}
              </div>
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  if (tag.trim()) act(() => post("/api/mediapilot/tags", { ids: [item.id], add: [tag] })).then(() => setTag(""));
                }}
              >
                <input aria-label="Add tag" placeholder="add a tag…" value={tag} onChange={(e) => setTag(e.target.value)} />
              </form>
            </section>
            {d.params && Object.keys(d.params.extra).length > 0 && (
              <details>
                <summary>More fields</summary>
                <pre className="extra">{JSON.stringify(d.params.extra, null, 1)}</pre>
              </details>
            )}
          </>
        )}
      </aside>
    </div>
  );
}
