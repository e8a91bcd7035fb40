import { useState } from "react";
import { get, withQuery } from "../../api/client";
import { formatBytes } from "../../components/format";

// The shapes of /api/models/search and /api/models/hub/... (browse.py).
interface HubFile { name: string; size: number | null; sha256: string | null; primary: boolean }
interface HubVersion { id: string; name: string; base_model: string | null; trained_words: string[]; images: { url: string }[]; files: HubFile[]; pull: string }
export interface HubModel { site: "civitai" | "hf"; id: string; name: string; type: string | null; creator: string | null; downloads: number | null; url: string; versions: HubVersion[]; detailed: boolean }
interface SearchPage { items: HubModel[]; next: string | null }

const SEARCH_TYPES = ["loras", "checkpoints", "embeddings", "vae", "controlnet", "upscale_models"];

/** Search CivitAI or Hugging Face; "Pull" hands the version's source to the page's pull (a task with progress). */
export function SearchPanel({ families, onPull, busy }: { families: Record<string, string>; onPull: (source: string) => void; busy: boolean }) {
  const [site, setSite] = useState<"civitai" | "hf">("civitai");
  const [query, setQuery] = useState("");
  const [type, setType] = useState("loras");
  const [family, setFamily] = useState("");
  const [sort, setSort] = useState("downloads");
  const [page, setPage] = useState<SearchPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [searching, setSearching] = useState(false);

  const run = async (cursor?: string) => {
    setSearching(true); setError(null);
    try {
      const found = await get<SearchPage>(withQuery("/api/models/search", { site, query, type, family, sort, ...(cursor ? { cursor } : {}) }));
      setPage((old) => (cursor && old ? { items: [...old.items, ...found.items], next: found.next } : found));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setSearching(false);
    }
  };
  // A Hub search lists repos; their files (sizes, hashes) come on demand.
  const details = async (m: HubModel) => {
    try {
      const full = await get<HubModel>(`/api/models/hub/hf/${m.id}`);
      setPage((old) => old && { ...old, items: old.items.map((i) => (i.site === m.site && i.id === m.id ? full : i)) });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section aria-label="Find models" className="model-search">
      <h2>Find models</h2>
      <form onSubmit={(e) => { e.preventDefault(); run(); }} className="filters">
        <select aria-label="Site" value={site} onChange={(e) => setSite(e.target.value as "civitai" | "hf")}>
          <option value="civitai">CivitAI</option>
          <option value="hf">Hugging Face</option>
        </select>
        <input aria-label="Find" placeholder="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        <select aria-label="Find kind" value={type} onChange={(e) => setType(e.target.value)}>
          <option value="">any type</option>
          {SEARCH_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
        </select>
        <select aria-label="Find base model" value={family} onChange={(e) => setFamily(e.target.value)}>
          <option value="">any base model</option>
          {Object.entries(families).filter(([k]) => k !== "sdxl_refiner").map(([k, v]) => <option key={k} value={k}>{v}</option>)}
        </select>
        <select aria-label="Sort" value={sort} onChange={(e) => setSort(e.target.value)}>
          <option value="downloads">most downloaded</option>
          <option value="newest">newest</option>
          <option value="rating">best rated</option>
        </select>
        <button type="submit" disabled={searching}>{searching ? "Searching…" : "Search"}</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {page && page.items.length === 0 && <p className="muted">Nothing found.</p>}
      <ul aria-label="Search results" className="hub-results">
        {page?.items.map((m) => <HubResult key={`${m.site}:${m.id}`} model={m} onPull={onPull} onDetails={() => details(m)} busy={busy} />)}
      </ul>
      {page?.next && <button onClick={() => run(page.next ?? undefined)} disabled={searching}>More</button>}
    </section>
  );
}

function HubResult({ model, onPull, onDetails, busy }: { model: HubModel; onPull: (s: string) => void; onDetails: () => void; busy: boolean }) {
  const [index, setIndex] = useState(0);
  const version = model.versions[index];
  const file = version?.files.find((f) => f.primary) ?? version?.files[0];
  const image = version?.images[0]?.url;
  return (
    <li className="hub-result" data-testid={`result-${model.site}-${model.id}`}>
      {image ? <img src={image} alt={`${model.name} preview`} width={96} loading="lazy" /> : <div className="no-preview" />}
      <div>
        <a href={model.url} target="_blank" rel="noreferrer"><b>{model.name}</b></a>{" "}
        <span className="muted">{model.type ?? ""} · by {model.creator ?? "?"} · {(model.downloads ?? 0).toLocaleString()} downloads</span>
        {version ? (
          <div>
            {model.versions.length > 1 ? (
              <select aria-label={`${model.name} version`} value={index} onChange={(e) => setIndex(Number(e.target.value))}>
                {model.versions.map((v, i) => <option key={v.id} value={i}>{v.name}</option>)}
              </select>
            ) : <span>{version.name}</span>}{" "}
            <span className="muted">{version.base_model ?? ""}</span>{" "}
            {file && <span>{file.name} · {file.size ? formatBytes(file.size) : "?"} · <code title={file.sha256 ?? ""}>{file.sha256?.slice(0, 10) ?? "no hash"}</code></span>}
            {version.trained_words.length > 0 && <div>Trigger words: {version.trained_words.map((w) => <code key={w}>{w}</code>)}</div>}
            <button onClick={() => onPull(version.pull)} disabled={busy} aria-label={`Pull ${model.name} ${version.name}`}>Pull</button>
          </div>
        ) : (
          !model.detailed && <div><button onClick={onDetails}>Files</button></div>
        )}
      </div>
    </li>
  );
}
