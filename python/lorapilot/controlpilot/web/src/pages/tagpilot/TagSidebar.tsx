import { useEffect } from "react";
import { useApi } from "../../hooks/useApi";
import { tagsUrl, type TagCount } from "./api";

/** The tag frequency table of the images matching the filter; a click filters by the tag. */
export default function TagSidebar({ name, query, nonce, onFilter }: {
  name: string;
  query: string;
  nonce: number;
  onFilter: (q: string) => void;
}) {
  const freq = useApi<{ images: number; tags: TagCount[] }>(tagsUrl(name, { q: query || undefined, limit: 300 }));
  const { reload } = freq;
  useEffect(() => {
    if (nonce) reload();
  }, [nonce, reload]);
  const quote = (t: string) => `tag:"${t.replace(/"/g, '\\"')}"`;
  return (
    <aside className="tp-sidebar" aria-label="Tag frequency">
      <h3>Tags <span className="muted">({freq.data?.tags.length ?? 0})</span></h3>
      <ol className="tp-freq">
        {freq.data?.tags.map((t) => (
          <li key={t.tag}>
            <button className="link" title={`filter by ${t.tag}`} onClick={() => onFilter(quote(t.tag))}>{t.tag}</button>
            <span className="muted">{t.count}</span>
          </li>
        ))}
      </ol>
    </aside>
  );
}
