import { useEffect, useRef, useState, type PointerEvent } from "react";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import {
  aspectsUrl, boxAround, getCrop, originalUrl, resetCrop, resizeBox, saveCrop,
  type AspectPreset, type CropBox, type CropState, type Focus,
} from "./cropApi";

type Drag = { mode: "move" | "resize" | "focus"; start: Focus; box: CropBox; moved: boolean };
const pct = (v: number, of: number) => `${(100 * v) / of}%`;

/** Crop one image non-destructively: pick an aspect, click a focus point (the largest box of that aspect
 *  is placed around it), or drag the box and its corner. The server cuts from the kept original. */
export default function CropEditor({ name, image, onSaved, onClose }: {
  name: string;
  image: string;
  onSaved: () => void;
  onClose: () => void;
}) {
  const presets = useApi<{ aspects: AspectPreset[] }>(aspectsUrl);
  const [state, setState] = useState<CropState | null>(null);
  const [aspect, setAspect] = useState("free");
  const [focus, setFocus] = useState<Focus>({ x: 0.5, y: 0.5 });
  const [box, setBox] = useState<CropBox | null>(null);
  const [manual, setManual] = useState(false); // the box was dragged: send it, not just the focus
  const [dirty, setDirty] = useState(false);
  const [version, setVersion] = useState(0);
  const stage = useRef<HTMLDivElement>(null);
  const drag = useRef<Drag | null>(null);
  const action = useAction();

  const load = (s: CropState) => {
    setState(s);
    setAspect(s.aspect);
    setFocus(s.focus);
    setBox(s.box ?? { x: 0, y: 0, width: s.original_width, height: s.original_height });
    setManual(false);
    setDirty(false);
  };
  useEffect(() => {
    void action.run(() => getCrop(name, image).then(load));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [name, image]);

  if (!state || !box) return <ErrorBanner message={action.error} onClose={action.clearError} />;
  const W = state.original_width;
  const H = state.original_height;
  const preset = presets.data?.aspects.find((a) => a.name === aspect);

  const pointAt = (e: PointerEvent): Focus => {
    const r = stage.current!.getBoundingClientRect();
    return { x: Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)), y: Math.min(1, Math.max(0, (e.clientY - r.top) / r.height)) };
  };
  const centreOf = (b: CropBox): Focus => ({ x: (b.x + b.width / 2) / W, y: (b.y + b.height / 2) / H });

  const chooseAspect = (name: string) => {
    const next = presets.data?.aspects.find((a) => a.name === name);
    setAspect(name);
    setBox(boxAround(W, H, next, focus, box));
    setManual(name === "free");
    setDirty(true);
  };
  const down = (e: PointerEvent) => {
    const target = e.target as HTMLElement;
    const mode = target.dataset.handle === "resize" ? "resize" : target.closest(".tp-crop-box") ? "move" : "focus";
    drag.current = { mode, start: pointAt(e), box, moved: false };
    stage.current!.setPointerCapture(e.pointerId);
    e.preventDefault();
  };
  const move = (e: PointerEvent) => {
    const d = drag.current;
    if (!d || d.mode === "focus") return;
    const p = pointAt(e);
    const dx = (p.x - d.start.x) * W;
    const dy = (p.y - d.start.y) * H;
    if (!d.moved && Math.hypot(dx, dy) < 3) return;
    d.moved = true;
    const next = d.mode === "move"
      ? { ...d.box, x: Math.round(Math.min(Math.max(d.box.x + dx, 0), W - d.box.width)), y: Math.round(Math.min(Math.max(d.box.y + dy, 0), H - d.box.height)) }
      : resizeBox(d.box, d.box.width + dx, d.box.height + dy, W, H, preset);
    setBox(next);
    setFocus(centreOf(next));
    setManual(true);
    setDirty(true);
  };
  const up = (e: PointerEvent) => {
    const d = drag.current;
    drag.current = null;
    if (!d || d.moved) return;
    const f = pointAt(e); // a click, inside the box or not, places the focus point
    setFocus(f);
    setBox(boxAround(W, H, preset, f, box));
    setManual(aspect === "free");
    setDirty(true);
  };

  const save = () =>
    action.run(async () => {
      const body = manual || aspect === "free" ? { aspect, focus, box } : { aspect, focus };
      load(await saveCrop(name, image, body));
      setVersion((v) => v + 1);
      onSaved();
    });
  const reset = () =>
    action.run(async () => {
      load(await resetCrop(name, image));
      setVersion((v) => v + 1);
      onSaved();
    });

  return (
    <div className="tp-crop" aria-label={`Crop ${image}`} role="group">
      <div className="tp-row tp-wrap">
        <label className="tp-inline">
          Aspect
          <select aria-label="Aspect" value={aspect} onChange={(e) => chooseAspect(e.target.value)}>
            {(presets.data?.aspects ?? [{ name: "free", width: 0, height: 0 }]).map((a) => (
              <option key={a.name} value={a.name}>{a.name === "free" ? "free" : a.name}</option>
            ))}
          </select>
        </label>
        <span className="muted" data-testid="crop-size">{box.width}×{box.height} of {W}×{H}</span>
        {state.cropped && <span className="badge">cropped</span>}
      </div>
      <div className="tp-crop-stage" ref={stage} data-testid="crop-stage" onPointerDown={down} onPointerMove={move} onPointerUp={up}>
        <img src={originalUrl(name, image, version)} alt={`original of ${image}`} draggable={false} />
        <div className="tp-crop-box" data-testid="crop-box"
          style={{ left: pct(box.x, W), top: pct(box.y, H), width: pct(box.width, W), height: pct(box.height, H) }}>
          <span className="tp-crop-handle" data-handle="resize" title="Drag to resize" />
        </div>
        <span className="tp-crop-focus" data-testid="crop-focus" style={{ left: pct(focus.x, 1), top: pct(focus.y, 1) }} />
      </div>
      <p className="hint">Click to place the focus point · drag the box to move it · drag its corner to resize. The original is kept.</p>
      <ErrorBanner message={action.error ?? presets.error} onClose={action.clearError} />
      <div className="tp-row">
        <button className="primary" disabled={action.busy || !dirty} onClick={() => void save()}>Save crop</button>
        {state.cropped && <button disabled={action.busy} onClick={() => void reset()}>Reset to original</button>}
        <span className="tp-spacer" />
        <button onClick={onClose}>Done</button>
      </div>
    </div>
  );
}
