import { useState } from "react";
import { del, post, upload } from "../../api/client";
import type { TrashItem } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import { Link, navigate } from "../../router";
import type { PageProps } from "../types";
import { base, markRegularization, type DatasetSummary } from "./api";
import DatasetView from "./DatasetView";
import "./tagpilot.css";

/** /datasets: the list of datasets; /datasets/<name>: one dataset. */
export default function TagPilotPage({ subpath }: PageProps) {
  if (subpath) {
    const name = decodeURIComponent(subpath.split("/")[0]);
    // Keyed: a link from one dataset to another (extracted frames) starts afresh, not with the last one's images.
    return <DatasetView key={name} name={name} />;
  }
  return <DatasetList />;
}

function DatasetList() {
  const list = useApi<DatasetSummary[]>("/api/tagpilot/datasets");
  const action = useAction();
  const [name, setName] = useState("");
  const [deleted, setDeleted] = useState<TrashItem | null>(null);
  const create = async () => {
    const made = await action.run(() => post(`/api/tagpilot/datasets`, { name }));
    if (made) navigate(`/tagpilot/${encodeURIComponent(name)}`);
  };
  const importZip = async (file: File | undefined) => {
    if (!file || !name) return;
    await action.run(async () => {
      await post(`/api/tagpilot/datasets`, { name });
      await upload(`${base(name)}/import/zip`, file);
    });
    navigate(`/tagpilot/${encodeURIComponent(name)}`);
  };
  const remove = (dataset: string) => {
    if (!window.confirm(`Move the dataset “${dataset}” to the trash? You can restore it.`)) return;
    void action.run(() => del<TrashItem>(base(dataset))).then((item) => {
      if (item) setDeleted(item);
      list.reload();
    });
  };
  const restore = (item: TrashItem) =>
    action.run(() => post(`/api/files/trash/${encodeURIComponent(item.id)}/restore`)).then((done) => {
      if (done !== undefined) setDeleted(null);
      list.reload();
    });
  const rename = (dataset: string, to: string) =>
    action.run(() => post(`${base(dataset)}/rename`, { name: to })).then((done) => {
      list.reload();
      return done !== undefined;
    });
  const toggleRegularization = (dataset: string, on: boolean) =>
    void action.run(() => markRegularization(dataset, on)).then(() => list.reload());
  return (
    <div className="page tagpilot">
      <h1>TagPilot</h1>
      <ErrorBanner message={list.error ?? action.error} onClose={action.clearError} />
      {deleted && (
        <p className="tp-conflict" role="status">
          Moved {deleted.original} to the trash.
          <button onClick={() => void restore(deleted)} disabled={action.busy}>Restore</button>
        </p>
      )}
      <form className="tp-row" onSubmit={(e) => { e.preventDefault(); void create(); }}>
        <input aria-label="New dataset name" placeholder="new dataset name" value={name} onChange={(e) => setName(e.target.value)} />
        <button className="primary" disabled={!name || action.busy}>Create</button>
        <label className="button ghost tp-file">
          Create from zip…
          <input type="file" accept=".zip" hidden disabled={!name} onChange={(e) => void importZip(e.target.files?.[0])} />
        </label>
      </form>
      <section className="cards" aria-label="Datasets">
        {list.data?.map((d) => (
          <DatasetCard key={d.name} dataset={d} busy={action.busy} onRename={rename} onDelete={remove}
            onRegularization={toggleRegularization} />
        ))}
        {list.data?.length === 0 && <p className="muted">No datasets yet: create one, then add images.</p>}
      </section>
    </div>
  );
}

/** One dataset: opens on click; rename in place; delete moves it to the trash; mark as a regularization set. */
function DatasetCard({ dataset, busy, onRename, onDelete, onRegularization }: {
  dataset: DatasetSummary;
  busy: boolean;
  onRename: (name: string, to: string) => Promise<boolean>;
  onDelete: (name: string) => void;
  onRegularization: (name: string, on: boolean) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [to, setTo] = useState(dataset.name);
  const url = `/tagpilot/${encodeURIComponent(dataset.name)}`;
  return (
    <article className="card tp-dataset-card" aria-label={`Dataset ${dataset.name}`}>
      {editing ? (
        <form className="tp-row" onSubmit={(e) => { e.preventDefault(); void onRename(dataset.name, to).then((ok) => ok && setEditing(false)); }}>
          <input aria-label={`New name for ${dataset.name}`} value={to} onChange={(e) => setTo(e.target.value)} autoFocus />
          <button className="primary" disabled={busy || !to || to === dataset.name}>Rename</button>
          <button type="button" className="ghost" onClick={() => { setEditing(false); setTo(dataset.name); }}>Cancel</button>
        </form>
      ) : (
        <h3>
          <Link to={url}>{dataset.name}</Link>
          {dataset.regularization && <span className="badge tp-reg-badge" title="Class images for prior preservation (TrainPilot's regularization set)"> regularization</span>}
        </h3>
      )}
      <p className="muted">{dataset.images} images · {dataset.captioned} captioned</p>
      {!editing && (
        <div className="tp-row">
          <button className="ghost" onClick={() => setEditing(true)} disabled={busy}>Rename…</button>
          <button className="ghost" onClick={() => onDelete(dataset.name)} disabled={busy}>Delete</button>
          <label className="tp-reg-toggle" title="A regularization set holds class images without your subject; a TrainPilot profile names it under [regularization]">
            <input type="checkbox" checked={dataset.regularization} disabled={busy}
              onChange={(e) => onRegularization(dataset.name, e.target.checked)} />
            Regularization set
          </label>
        </div>
      )}
    </article>
  );
}
