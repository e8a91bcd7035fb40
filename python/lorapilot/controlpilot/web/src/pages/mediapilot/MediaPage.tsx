// MediaPilot: the gallery of everything generated. A virtualised grid over keyset
// pages of /api/mediapilot/search, the query language with autocomplete, batch actions,
// a lightbox with metadata, compare, and the trash.

import { useCallback, useEffect, useRef, useState, type MouseEvent } from "react";
import { errorMessage, get, post, withQuery } from "../../api/client";
import { useEvent, useLatestEvent } from "../../api/events";
import { ErrorBanner } from "../../components/ErrorBanner";
import { navigate, setQuery, useLocation } from "../../router";
import type { PageProps } from "../types";
import { Compare } from "./Compare";
import { Lightbox } from "./Lightbox";
import { SearchBox } from "./SearchBox";
import { RootsView } from "./RootsView";
import { TrashView } from "./TrashView";
import { VirtualGrid } from "./VirtualGrid";
import { thumbUrl, type BatchResult, type MediaItem, type SearchPage } from "./types";
import "./media.css";

const PAGE = 200;
type Sort = "date" | "name" | "size";
interface TaskInfo {
  id: string;
  state: string;
  current: number;
  total: number | null;
  message: string;
  error: string | null;
}

export default function MediaPage({ subpath }: PageProps) {
  const { query } = useLocation();
  const q = query.get("q") ?? "";
  const [sort, setSort] = useState<Sort>("date");
  const [order, setOrder] = useState<"desc" | "asc">("desc");
  const [items, setItems] = useState<MediaItem[]>([]);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [anchor, setAnchor] = useState<number | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const [comparing, setComparing] = useState<MediaItem[] | null>(null);
  const [stale, setStale] = useState(false);
  const [target, setTarget] = useState("");
  const [scanTask, setScanTask] = useState<string | null>(null);
  const cursor = useRef<string | null>(null);
  const loading = useRef(false);
  const generation = useRef(0);
  const tasks = useLatestEvent<{ tasks: TaskInfo[] }>("tasks");
  const scan = tasks?.tasks.find((t) => t.id === scanTask);

  const load = useCallback(
    async (reset: boolean) => {
      if (loading.current && !reset) return;
      if (!reset && cursor.current === null) return;
      const gen = reset ? ++generation.current : generation.current;
      loading.current = true;
      try {
        const page = await get<SearchPage>(
          withQuery("/api/mediapilot/search", { q, sort, order, limit: PAGE, total: reset || undefined,
            cursor: reset ? undefined : (cursor.current ?? undefined) }),
        );
        if (gen !== generation.current) return;
        cursor.current = page.next_cursor;
        setItems((prev) => (reset ? page.items : [...prev, ...page.items]));
        if (reset) {
          setTotal(page.total);
          setStale(false);
        }
        setError(null);
      } catch (e) {
        if (gen === generation.current) setError(errorMessage(e));
      } finally {
        loading.current = false;
      }
    },
    [q, sort, order],
  );

  useEffect(() => {
    cursor.current = null;
    setSelected(new Set());
    setOpen(null);
    load(true);
  }, [load]);

  // ?compare=QUERY (the job page's grid cells): open the compare view on the first four matches.
  const compareQuery = query.get("compare");
  useEffect(() => {
    if (!compareQuery) return;
    get<SearchPage>(withQuery("/api/mediapilot/search", { q: compareQuery, sort: "name", order: "asc", limit: 4 }))
      .then((page) => {
        if (page.items.length > 0) setComparing(page.items);
        else setNote("Nothing to compare yet: the images are not indexed (scan, or wait for the watcher).");
      })
      .catch((e) => setError(errorMessage(e)));
  }, [compareQuery]);

  useEvent("media", () => {
    if (items.length <= PAGE) load(true);
    else setStale(true);
  });
  useEffect(() => {
    if (scan && (scan.state === "done" || scan.state === "failed")) {
      if (scan.error) setError(scan.error);
      setScanTask(null);
      load(true);
    }
  }, [scan?.state]);

  const refresh = () => load(true);
  // The selection goes in a POST and the download link stays short: thousands of ids in a URL would
  // pass what a proxy in front of a rented GPU accepts.
  const downloadZip = async () => {
    try {
      const { url } = await post<{ url: string }>("/api/mediapilot/zip/selection", { ids: [...selected] });
      const link = document.createElement("a");
      link.href = url;
      link.download = "mediapilot.zip";
      document.body.appendChild(link);
      link.click();
      link.remove();
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  const ids = [...selected];

  const batch = async (label: string, path: string, body: object) => {
    try {
      const result = await post<BatchResult | { changed: number }>(path, { ids, ...body });
      if ("failed" in result) {
        const failed = Object.entries(result.failed).map(([id, why]) => `${id}: ${why}`);
        setNote(`${label} ${result.done.length}` + (failed.length ? ` — not done: ${failed.join("; ")}` : ""));
      } else {
        setNote(`${label} ${result.changed}`);
      }
      refresh();
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  const trash = async (trashIds: number[]) => {
    try {
      const r = await post<BatchResult>("/api/mediapilot/trash", { ids: trashIds });
      setNote(`moved ${r.done.length} to the trash`);
      setItems((prev) => prev.filter((i) => !r.done.includes(i.id)));
      setTotal((t) => (t === null ? t : t - r.done.length));
      setSelected(new Set());
      setOpen((o) => (o === null ? o : Math.min(o, items.length - 1 - r.done.length) < 0 ? null : o));
    } catch (e) {
      setError(errorMessage(e));
    }
  };

  const onTileClick = (e: MouseEvent, index: number) => {
    const id = items[index].id;
    if (e.shiftKey && anchor !== null) {
      const [a, b] = anchor < index ? [anchor, index] : [index, anchor];
      setSelected((s) => new Set([...s, ...items.slice(a, b + 1).map((i) => i.id)]));
    } else if (e.ctrlKey || e.metaKey) {
      toggle(id);
    } else {
      setOpen(index);
    }
    setAnchor(index);
  };
  const toggle = (id: number) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  if (subpath === "roots") {
    return (
      <div className="page media-page">
        <header className="media-head">
          <h1>MediaPilot · Roots</h1>
          <button type="button" onClick={() => navigate("/mediapilot")}>
            ← Gallery
          </button>
        </header>
        <RootsView onChanged={refresh} />
      </div>
    );
  }

  if (subpath === "trash") {
    return (
      <div className="page media-page">
        <header className="media-head">
          <h1>MediaPilot · Trash</h1>
          <button type="button" onClick={() => navigate("/mediapilot")}>
            ← Gallery
          </button>
        </header>
        <TrashView onChanged={refresh} />
      </div>
    );
  }

  return (
    <div className="page media-page">
      <header className="media-head">
        <h1>MediaPilot</h1>
        <SearchBox value={q} onSearch={(text) => setQuery("q", text)} />
        <select aria-label="Sort by" value={sort} onChange={(e) => setSort(e.target.value as Sort)}>
          <option value="date">date</option>
          <option value="name">name</option>
          <option value="size">size</option>
        </select>
        <button type="button" aria-label="Order" onClick={() => setOrder((o) => (o === "desc" ? "asc" : "desc"))}>
          {order === "desc" ? "↓" : "↑"}
        </button>
        <button
          type="button"
          disabled={!!scanTask}
          onClick={() => post<{ id: string }>("/api/mediapilot/scan").then((t) => setScanTask(t.id), (e) => setError(errorMessage(e)))}
        >
          {scan ? `Scanning ${scan.total ? `${scan.current}/${scan.total}` : "…"}` : "Rescan"}
        </button>
        <button type="button" onClick={() => navigate("/mediapilot/trash")}>
          Trash
        </button>
        <button type="button" onClick={() => navigate("/mediapilot/roots")}>
          Roots
        </button>
      </header>
      <ErrorBanner message={error} onClose={() => setError(null)} />
      {note && (
        <p className="hint" role="status">
          {note}
        </p>
      )}
      <div className="media-toolbar" aria-label="Selection">
        <span className="muted" data-testid="media-count">
          {total ?? items.length} item(s){selected.size ? ` · ${selected.size} selected` : ""}
        </span>
        {stale && (
          <button type="button" onClick={refresh}>
            New files — refresh
          </button>
        )}
        {selected.size > 0 && (
          <>
            <button type="button" onClick={() => batch("favourited", "/api/mediapilot/favourite", { value: true })}>
              ★
            </button>
            <button type="button" onClick={() => batch("unfavourited", "/api/mediapilot/favourite", { value: false })}>
              ☆
            </button>
            <input
              className="media-target"
              aria-label="Tag or folder"
              placeholder="tag or folder"
              value={target}
              onChange={(e) => setTarget(e.target.value)}
            />
            <button type="button" disabled={!target.trim()} onClick={() => batch("tagged", "/api/mediapilot/tags", { add: [target] })}>
              Tag
            </button>
            <button type="button" disabled={!target.trim()} onClick={() => batch("moved", "/api/mediapilot/move", { dest: target })}>
              Move
            </button>
            <button type="button" disabled={!target.trim()} onClick={() => batch("copied", "/api/mediapilot/copy", { dest: target })}>
              Copy
            </button>
            <button type="button" onClick={downloadZip}>
              Zip
            </button>
            <button
              type="button"
              disabled={selected.size < 2 || selected.size > 4}
              onClick={() => setComparing(items.filter((i) => selected.has(i.id)))}
            >
              Compare
            </button>
            <button type="button" onClick={() => trash(ids)}>
              Trash
            </button>
            <button type="button" className="ghost" onClick={() => setSelected(new Set())}>
              Clear
            </button>
          </>
        )}
      </div>
      <VirtualGrid
        items={items}
        tile={180}
        scrollToIndex={open}
        onNearEnd={() => load(false)}
        render={(item, index) => (
          <div className={`tile${selected.has(item.id) ? " selected" : ""}`}>
            <button
              type="button"
              className="tile-open"
              aria-label={item.name}
              title={`${item.rel}${item.error ? `\n⚠ ${item.error}` : ""}`}
              onClick={(e) => onTileClick(e, index)}
            >
              <img src={thumbUrl(item)} alt="" loading="lazy" decoding="async" draggable={false} />
            </button>
            <input
              type="checkbox"
              className="tile-check"
              aria-label={`Select ${item.name}`}
              checked={selected.has(item.id)}
              onChange={() => toggle(item.id)}
            />
            {item.kind === "video" && <span className="tile-badge">▶</span>}
            {item.fav ? <span className="tile-fav">★</span> : null}
            {item.error && <span className="tile-warn" title={item.error}>⚠</span>}
          </div>
        )}
      />
      {!items.length && !error && <p className="muted">No media matches. Generate something, or try another search.</p>}
      {open !== null && items[open] && (
        <Lightbox
          items={items}
          index={open}
          onMove={setOpen}
          onClose={() => setOpen(null)}
          onTrash={(id) => trash([id])}
          onChanged={() => undefined}
        />
      )}
      {comparing && (
        <Compare
          items={comparing}
          onClose={() => {
            setComparing(null);
            if (compareQuery) setQuery("compare", undefined, { replace: true });
          }}
        />
      )}
    </div>
  );
}
