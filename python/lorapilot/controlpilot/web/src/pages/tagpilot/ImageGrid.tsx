import { useEffect, useRef, type KeyboardEvent, type MouseEvent } from "react";
import { clipFacts, imageUrl, type ImageRecord } from "./api";

interface Props {
  name: string;
  images: ImageRecord[];
  selected: Set<string>;
  onSelect: (s: Set<string>) => void;
  focused: string | null;
  onFocus: (image: string | null) => void;
}

/** Thumbnails with captions (a video clip: its frame at one second, a video badge and its length, frames and fps). Click: open; Ctrl/⌘-click or Space: toggle selection; Shift-click: range.
 *  Arrow keys move between images, Enter opens the caption editor, Escape clears the selection. */
export default function ImageGrid({ name, images, selected, onSelect, focused, onFocus }: Props) {
  const grid = useRef<HTMLDivElement>(null);
  const anchor = useRef<number>(0);
  const index = Math.max(0, images.findIndex((i) => i.name === focused));

  useEffect(() => {
    if (!focused) return;
    const el = grid.current?.querySelector<HTMLElement>(`[data-image="${CSS.escape(focused)}"]`);
    el?.focus({ preventScroll: true });
    el?.scrollIntoView({ block: "nearest" });
  }, [focused]);

  const columns = () => {
    const tiles = grid.current?.querySelectorAll<HTMLElement>(".tp-tile");
    if (!tiles?.length) return 1;
    const top = tiles[0].offsetTop;
    let n = 0;
    while (n < tiles.length && tiles[n].offsetTop === top) n++;
    return Math.max(1, n);
  };

  const toggle = (image: string) => {
    const next = new Set(selected);
    if (next.has(image)) next.delete(image);
    else next.add(image);
    onSelect(next);
  };

  const click = (e: MouseEvent, i: number) => {
    const image = images[i].name;
    if (e.shiftKey) {
      const [from, to] = [Math.min(anchor.current, i), Math.max(anchor.current, i)];
      onSelect(new Set([...selected, ...images.slice(from, to + 1).map((x) => x.name)]));
    } else if (e.ctrlKey || e.metaKey) {
      toggle(image);
      anchor.current = i;
    } else {
      anchor.current = i;
      onFocus(image);
    }
  };

  const key = (e: KeyboardEvent) => {
    if (!images.length || (e.target as HTMLElement).closest("input, textarea")) return;
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns(), Home: -index, End: images.length };
    if (e.key in moves) {
      e.preventDefault();
      const next = focused ? Math.min(images.length - 1, Math.max(0, index + moves[e.key])) : 0;
      onFocus(images[next].name);
      if (e.shiftKey) onSelect(new Set([...selected, images[next].name]));
    } else if (e.key === " " && focused) {
      e.preventDefault();
      toggle(focused);
    } else if (e.key === "Escape") {
      onSelect(new Set());
    } else if ((e.key === "a" || e.key === "A") && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      onSelect(new Set(images.map((i) => i.name)));
    }
  };

  return (
    <div className="tp-grid" ref={grid} onKeyDown={key} role="listbox" aria-multiselectable="true" aria-label="Images">
      {images.map((img, i) => (
        <div key={img.name} className={`tp-tile${selected.has(img.name) ? " selected" : ""}${focused === img.name ? " focused" : ""}`}
          data-image={img.name} role="option" aria-selected={selected.has(img.name)} tabIndex={focused === img.name || (!focused && i === 0) ? 0 : -1}
          onClick={(e) => click(e, i)}>
          <input type="checkbox" className="tp-check" aria-label={`select ${img.name}`} checked={selected.has(img.name)}
            onClick={(e) => e.stopPropagation()} onChange={() => toggle(img.name)} />
          {img.error ? <div className="tp-broken" title={img.error}>{img.kind === "clip" ? "unreadable clip" : "undecodable"}</div> :
            <img src={imageUrl(name, img.name, "thumb", 256, img.mtime_ns)} alt={img.name} loading="lazy" />}
          {img.kind === "clip" && <span className="badge tp-video" title="video clip: its frame at one second is shown">▶ video</span>}
          <div className="tp-caption" data-testid={`caption-${img.name}`}>
            {img.has_caption ? img.caption : <em className="muted">no caption</em>}
            {img.non_utf8 && <span className="badge" title="read with replacement characters">non-UTF-8</span>}
          </div>
          <div className="tp-name muted">{img.name}{!img.clip && img.width ? ` · ${img.width}×${img.height}` : ""}</div>
          {img.clip && <div className="tp-name muted" title={clipFacts(img.clip)}>{clipFacts(img.clip)}</div>}
        </div>
      ))}
      {images.length === 0 && <p className="muted">No images match.</p>}
    </div>
  );
}
