import { useState } from "react";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction } from "../../hooks/useApi";
import { applyOp, previewOp, type OpKind, type OpSpec, type Preview, type Target } from "./api";

const KINDS: [OpKind, string][] = [
  ["add", "Add tag"],
  ["remove", "Remove tags"],
  ["replace", "Replace tag"],
  ["find_replace", "Find & replace text"],
  ["dedupe", "Deduplicate tags"],
  ["sort", "Sort tags"],
  ["consolidate", "Consolidate (drop 'shirt' next to 'white shirt')"],
];

/** Bulk operations on the selection (or the filtered images): preview as a diff, then apply (undoable). */
export default function BulkPanel({ name, target, targetLabel, onApplied }: {
  name: string;
  target: Target;
  targetLabel: string;
  onApplied: () => void;
}) {
  const [kind, setKind] = useState<OpKind>("add");
  const [tag, setTag] = useState("");
  const [other, setOther] = useState("");
  const [position, setPosition] = useState(0);
  const [regex, setRegex] = useState(false);
  const [ignoreCase, setIgnoreCase] = useState(false);
  const [byFrequency, setByFrequency] = useState(false);
  const [keepFirst, setKeepFirst] = useState(0);
  const [preview, setPreview] = useState<Preview | null>(null);
  const action = useAction();

  const op = (): OpSpec => {
    switch (kind) {
      case "add": return { kind, tag, position };
      case "remove": return { kind, tags: tag.split(",").map((t) => t.trim()).filter(Boolean) };
      case "replace": return { kind, tag, new: other };
      case "find_replace": return { kind, find: tag, replace: other, regex, ignore_case: ignoreCase };
      case "sort": return { kind, keep_first: keepFirst, by_frequency: byFrequency };
      default: return { kind };
    }
  };
  const reset = () => setPreview(null);
  const runPreview = () => action.run(() => previewOp(name, op(), target)).then((p) => p && setPreview(p));
  const runApply = () =>
    action.run(() => applyOp(name, op(), target, preview!.expected)).then((entry) => {
      if (entry) {
        setPreview(null);
        onApplied();
      }
    });

  return (
    <section className="card tp-bulk" aria-label="Bulk operations">
      <div className="tp-row tp-wrap">
        <select aria-label="Operation" value={kind} onChange={(e) => { setKind(e.target.value as OpKind); reset(); }}>
          {KINDS.map(([k, label]) => <option key={k} value={k}>{label}</option>)}
        </select>
        {(kind === "add" || kind === "remove" || kind === "replace" || kind === "find_replace") && (
          <input aria-label={kind === "find_replace" ? "Find" : kind === "remove" ? "Tags to remove" : "Tag"}
            placeholder={kind === "find_replace" ? "find" : kind === "remove" ? "tags, comma separated (* wildcard)" : "tag"}
            value={tag} onChange={(e) => { setTag(e.target.value); reset(); }} />
        )}
        {(kind === "replace" || kind === "find_replace") && (
          <input aria-label={kind === "replace" ? "New tag" : "Replace with"} placeholder={kind === "replace" ? "new tag" : "replace with"}
            value={other} onChange={(e) => { setOther(e.target.value); reset(); }} />
        )}
        {kind === "add" && (
          <select aria-label="Position" value={position} onChange={(e) => { setPosition(Number(e.target.value)); reset(); }}>
            <option value={0}>first</option>
            <option value={1}>second</option>
            <option value={-1}>last</option>
          </select>
        )}
        {kind === "find_replace" && (
          <>
            <label className="tp-inline"><input type="checkbox" checked={regex} onChange={(e) => { setRegex(e.target.checked); reset(); }} /> regex</label>
            <label className="tp-inline"><input type="checkbox" checked={ignoreCase} onChange={(e) => { setIgnoreCase(e.target.checked); reset(); }} /> ignore case</label>
          </>
        )}
        {kind === "sort" && (
          <label className="tp-inline">keep first
            <input type="number" min={0} value={keepFirst} onChange={(e) => { setKeepFirst(Number(e.target.value)); reset(); }} />
          </label>
        )}
        {kind === "sort" && (
          <label className="tp-inline"><input type="checkbox" checked={byFrequency} onChange={(e) => { setByFrequency(e.target.checked); reset(); }} /> most frequent first</label>
        )}
        <button disabled={action.busy} onClick={() => void runPreview()}>Preview</button>
        <span className="muted">on {targetLabel}</span>
      </div>
      <ErrorBanner message={action.error} onClose={action.clearError} />
      {preview && (
        <div className="tp-preview" aria-label="Preview">
          <p>
            <strong>{preview.description}</strong>: {preview.changed} of {preview.selected} captions change
            {preview.truncated && ` (showing ${preview.diffs.length})`}
          </p>
          <ul className="tp-diffs">
            {preview.diffs.map((d) => (
              <li key={d.image}>
                <span className="tp-diff-name">{d.image}</span>
                <del>{d.before || "∅"}</del>
                <ins>{d.after || "∅"}</ins>
                {d.added.map((t) => <span key={`+${t}`} className="tp-added">+{t}</span>)}
                {d.removed.map((t) => <span key={`-${t}`} className="tp-removed">−{t}</span>)}
              </li>
            ))}
          </ul>
          <div className="tp-row">
            <button className="primary" disabled={action.busy || preview.changed === 0} onClick={() => void runApply()}>
              Apply {preview.changed} changes
            </button>
            <button className="ghost" onClick={reset}>Discard</button>
          </div>
        </div>
      )}
    </section>
  );
}
