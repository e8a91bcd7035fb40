import { useCallback, useState } from "react";
import { post, withQuery } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import { Link, navigate } from "../../router";
import { base, type DatasetStats, type HistoryState, type ImagesPage, type Target } from "./api";
import BulkCrop from "./BulkCrop";
import BulkPanel from "./BulkPanel";
import CaptionEditor from "./CaptionEditor";
import CaptionJob from "./CaptionJob";
import ChecksTab from "./ChecksTab";
import ExportTab from "./ExportTab";
import FramesJob from "./FramesJob";
import ImageGrid from "./ImageGrid";
import ImportBar from "./ImportBar";
import StatsPanel from "./StatsPanel";
import TagSidebar from "./TagSidebar";
import { useTaskEnds } from "./useTask";

type Tab = "images" | "caption" | "checks" | "export";
const PAGE = 1000; // thumbnails per "Show more"
const TABS: [Tab, string][] = [["images", "Images"], ["caption", "Auto-caption"], ["checks", "Checks"], ["export", "Export"]];

export default function DatasetView({ name }: { name: string }) {
  const [query, setQuery] = useState("");
  const [applied, setApplied] = useState("");
  const [tab, setTab] = useState<Tab>("images");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [focused, setFocused] = useState<string | null>(null);
  const [framesOpen, setFramesOpen] = useState(false);
  const stats = useApi<DatasetStats>(base(name));
  const [shown, setShown] = useState(PAGE);
  const images = useApi<ImagesPage>(withQuery(`${base(name)}/images`, { q: applied || undefined, limit: shown }));
  const history = useApi<HistoryState>(`${base(name)}/history?limit=10`);
  const [tagsNonce, setTagsNonce] = useState(0);
  const action = useAction();

  /** Everything on screen may have changed: captions, counts, history. */
  const refresh = useCallback(() => {
    images.reload();
    stats.reload();
    history.reload();
    setTagsNonce((n) => n + 1);
  }, [images, stats, history]);
  useTaskEnds("tagpilot.import", refresh); // an import started elsewhere (the list page's zip): show its images when done

  const target: Target = selected.size ? { images: [...selected] } : { query: applied || undefined };
  const targetLabel = selected.size ? `${selected.size} selected images` : applied ? `images matching “${applied}”` : "all images";
  const undoRedo = (verb: "undo" | "redo") => action.run(() => post(`${base(name)}/history/${verb}`)).then(refresh);
  // Refresh the handoff (counts as they are now, trigger/repeats kept) before TrainPilot reads it.
  const trainUrl = `/trainpilot/new?dataset=${encodeURIComponent(name)}`;
  const trainThis = () => action.run(() => post(`${base(name)}/handoff`, {})).then((ok) => ok && navigate(trainUrl));
  const removeSelected = (how: "exclude" | "trash") =>
    action.run(() => post(`${base(name)}/checks/action`, { action: how, images: [...selected] })).then((done) => {
      if (done === undefined) return;
      setSelected(new Set());
      setFocused(null);
      refresh();
    });
  const filterBy = (q: string) => {
    setQuery(q);
    setApplied(q);
    setSelected(new Set());
    setShown(PAGE);
  };

  return (
    <div className="page tagpilot">
      <div className="tp-head">
        <h1><Link to="/tagpilot">TagPilot</Link> / {name}</h1>
        {stats.data && <StatsPanel stats={stats.data} />}
        <span className="tp-spacer" />
        <button disabled={!history.data?.can_undo || action.busy} onClick={() => void undoRedo("undo")}
          title={history.data?.entries.find((e) => e.state === "applied")?.description}>Undo</button>
        <button disabled={!history.data?.can_redo || action.busy} onClick={() => void undoRedo("redo")}>Redo</button>
        <ImportBar name={name} onImported={refresh} />
        {(stats.data?.clips ?? 0) > 0 && (
          <button className="ghost" aria-expanded={framesOpen} onClick={() => setFramesOpen((o) => !o)}>Extract frames…</button>
        )}
        <Link className="button primary" to={trainUrl} onClick={(e) => { e.preventDefault(); void trainThis(); }}>
          Train this
        </Link>
      </div>
      <ErrorBanner message={stats.error ?? images.error ?? action.error} onClose={action.clearError} />
      {framesOpen && stats.data && <FramesJob name={name} clips={stats.data.clips} onFinished={refresh} />}
      <nav className="tp-tabs" role="tablist">
        {TABS.map(([id, label]) => (
          <button key={id} role="tab" aria-selected={tab === id} className={tab === id ? "active" : ""} onClick={() => setTab(id)}>
            {label}
          </button>
        ))}
      </nav>
      <div className="tp-layout">
        <TagSidebar name={name} query={applied} nonce={tagsNonce} onFilter={filterBy} />
        <main className="tp-main">
          <form className="tp-row" onSubmit={(e) => { e.preventDefault(); filterBy(query); }}>
            <input aria-label="Filter" placeholder='filter, e.g. tag:"white shirt" AND -tag:hat width>=1024 captioned:no'
              value={query} onChange={(e) => setQuery(e.target.value)} />
            <button>Filter</button>
            <span className="muted tp-nowrap">
              {images.data ? `${images.data.matched} of ${images.data.total}` : "…"}
              {selected.size > 0 && ` · ${selected.size} selected`}
            </span>
            {selected.size > 0 && (
              <>
                <button type="button" disabled={action.busy} onClick={() => void removeSelected("exclude")}
                  title="Move out of the dataset into .tagpilot/excluded/ (Checks tab: Include brings them back)">Exclude</button>
                <button type="button" disabled={action.busy} onClick={() => void removeSelected("trash")}
                  title="Move to the workspace trash (restorable)">Trash</button>
              </>
            )}
          </form>
          {tab === "images" && (
            <>
              <BulkPanel name={name} target={target} targetLabel={targetLabel} onApplied={refresh} />
              <BulkCrop name={name} images={[...selected]} onFinished={refresh} />
              <div className={`tp-work${focused ? " has-editor" : ""}`}>
                <ImageGrid name={name} images={images.data?.images ?? []} selected={selected} onSelect={setSelected}
                  focused={focused} onFocus={setFocused} />
                {focused && (
                  <CaptionEditor name={name} image={images.data?.images.find((i) => i.name === focused)}
                    onSaved={refresh} onClose={() => setFocused(null)} />
                )}
              </div>
              {images.data && images.data.images.length < images.data.matched && (
                <button className="tp-more" onClick={() => setShown((n) => n + PAGE)}>
                  Show more ({images.data.matched - images.data.images.length} not shown)
                </button>
              )}
            </>
          )}
          {tab === "caption" && <CaptionJob name={name} target={target} targetLabel={targetLabel} onFinished={refresh} />}
          {tab === "checks" && <ChecksTab name={name} onChanged={refresh} />}
          {tab === "export" && <ExportTab name={name} />}
        </main>
      </div>
    </div>
  );
}
