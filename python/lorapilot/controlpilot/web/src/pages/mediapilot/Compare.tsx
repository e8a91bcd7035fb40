// Side-by-side compare of 2-4 images with the fields that differ highlighted.

import { fileUrl, type CompareResult, type MediaItem } from "./types";
import { useApi } from "../../hooks/useApi";
import { ErrorBanner } from "../../components/ErrorBanner";

export function Compare({ items, onClose }: { items: MediaItem[]; onClose: () => void }) {
  const result = useApi<CompareResult>(`/api/mediapilot/compare?ids=${items.map((i) => i.id).join(",")}`);
  const r = result.data;
  return (
    <div className="lightbox compare" role="dialog" aria-modal="true" aria-label="Compare">
      <div className="compare-body">
        <header>
          <h3>Compare {items.length}</h3>
          <button type="button" className="link" aria-label="Close" onClick={onClose}>
            ✕
          </button>
        </header>
        <ErrorBanner message={result.error} />
        <div className="compare-images" style={{ gridTemplateColumns: `repeat(${items.length}, 1fr)` }}>
          {items.map((item) =>
            item.kind === "video" ? (
              <video key={item.id} src={fileUrl(item)} controls muted />
            ) : (
              <img key={item.id} src={fileUrl(item)} alt={item.name} />
            ),
          )}
        </div>
        {r && (
          <table className="compare-table">
            <tbody>
              {r.fields.map((f) => (
                <tr key={f.field} className={f.same ? "" : "differs"}>
                  <th>{f.field}</th>
                  {f.values.map((v, i) => (
                    <td key={i}>{v === null ? "–" : String(v)}</td>
                  ))}
                </tr>
              ))}
              {r.loras.map((l) => (
                <tr key={`lora-${l.name}`} className={l.same ? "" : "differs"}>
                  <th>lora {l.name}</th>
                  {l.values.map((v, i) => (
                    <td key={i}>{v === null ? "–" : v}</td>
                  ))}
                </tr>
              ))}
              {(["positive", "negative"] as const).map((which) => (
                <tr key={which} className={r.prompts[which].only.some((o) => o.length) ? "differs" : ""}>
                  <th>{which} (only here)</th>
                  {r.prompts[which].only.map((terms, i) => (
                    <td key={i}>{terms.join(", ") || "–"}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
