import { useState } from "react";
import { post, upload } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import { Link, navigate } from "../../router";
import type { PageProps } from "../types";
import { base, type DatasetSummary } from "./api";
import DatasetView from "./DatasetView";
import "./tagpilot.css";

/** /datasets: the list of datasets; /datasets/<name>: one dataset. */
export default function TagPilotPage({ subpath }: PageProps) {
  if (subpath) return <DatasetView name={decodeURIComponent(subpath.split("/")[0])} />;
  return <DatasetList />;
}

function DatasetList() {
  const list = useApi<DatasetSummary[]>("/api/datasets");
  const action = useAction();
  const [name, setName] = useState("");
  const create = async () => {
    const made = await action.run(() => post(`/api/datasets`, { name }));
    if (made) navigate(`/datasets/${encodeURIComponent(name)}`);
  };
  const importZip = async (file: File | undefined) => {
    if (!file || !name) return;
    await action.run(async () => {
      await post(`/api/datasets`, { name });
      await upload(`${base(name)}/import/zip`, file);
    });
    navigate(`/datasets/${encodeURIComponent(name)}`);
  };
  return (
    <div className="page tagpilot">
      <h1>TagPilot</h1>
      <ErrorBanner message={list.error ?? action.error} onClose={action.clearError} />
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
          <Link key={d.name} to={`/datasets/${encodeURIComponent(d.name)}`} className="card tp-dataset-card">
            <h3>{d.name}</h3>
            <p className="muted">{d.images} images · {d.captioned} captioned</p>
          </Link>
        ))}
        {list.data?.length === 0 && <p className="muted">No datasets yet: create one, then add images.</p>}
      </section>
    </div>
  );
}
