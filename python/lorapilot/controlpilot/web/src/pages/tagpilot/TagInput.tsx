import { useState } from "react";
import { useApi } from "../../hooks/useApi";
import { tagsUrl, type TagCount } from "./api";

/** Tags as removable chips plus an input that autocompletes from the dataset's own tags. */
export default function TagInput({ name, tags, onChange }: { name: string; tags: string[]; onChange: (tags: string[]) => void }) {
  const [draft, setDraft] = useState("");
  const prefix = draft.trim();
  const suggestions = useApi<{ tags: TagCount[] }>(prefix ? tagsUrl(name, { prefix, limit: 8 }) : null);
  const listId = `tp-tags-${name}`;
  const add = (tag: string) => {
    const t = tag.trim();
    if (t && !tags.some((x) => x.toLowerCase() === t.toLowerCase())) onChange([...tags, t]);
    setDraft("");
  };
  return (
    <div className="tp-taginput">
      {tags.map((t, i) => (
        <span key={`${t}-${i}`} className="tp-chip">
          {t}
          <button className="link" aria-label={`remove tag ${t}`} onClick={() => onChange(tags.filter((_, j) => j !== i))}>×</button>
        </span>
      ))}
      <input aria-label="Add tag" placeholder="add tag…" list={listId} value={draft} onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => { if (e.key === "Enter" || e.key === ",") { e.preventDefault(); add(draft); } }} />
      <datalist id={listId}>
        {suggestions.data?.tags.map((s) => <option key={s.tag} value={s.tag}>{`${s.count}×`}</option>)}
      </datalist>
    </div>
  );
}
