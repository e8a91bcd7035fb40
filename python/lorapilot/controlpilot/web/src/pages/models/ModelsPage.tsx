import { useEffect, useMemo, useState } from "react";
import { get, post, withQuery } from "../../api/client";
import { useLatestEvent } from "../../api/events";
import type { Task } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatBytes } from "../../components/format";
import { useAction, useApi } from "../../hooks/useApi";
import { useTaskEnds } from "../../hooks/useTaskEnds";
import { useLocation } from "../../router";
import { InspectPanel, type Inspection } from "./InspectPanel";
import { SearchPanel } from "./SearchPanel";

export interface Model {
  path: string; rel: string; name: string; folder: string; kind: string; family: string | null;
  family_label: string | null; size: number; rank: number | null; autov2: string | null; warning: string | null; error: string | null;
}
interface Types { folders: string[]; families: Record<string, string> }
interface TrashItem { id: string; name: string; original: string; size: number; sidecars: string[] }
interface UpdateCheck { path: string; status: "outdated" | "current" | "unknown" | "error"; latest: string | null; pull: string | null; message: string }
interface ManifestEntry { source: string; type: string | null; description: string; requires: string[] }

const SIZE_STEPS: [string, number][] = [["any size", 0], ["> 100 MB", 100e6], ["> 1 GB", 1e9], ["> 5 GB", 5e9]];

export default function ModelsPage() {
  const list = useApi<{ models: Model[]; unhashed: number; unreachable_roots: string[] }>("/api/models");
  const types = useApi<Types>("/api/models/types");
  const trash = useApi<{ items: TrashItem[] }>("/api/models/trash");
  const manifest = useApi<{ models: Record<string, ManifestEntry> }>("/api/models/manifest");
  const updates = useApi<{ checked_at: number | null; models: UpdateCheck[] }>("/api/models/updates");
  const updateOf = useMemo(() => new Map((updates.data?.models ?? []).map((u) => [u.path, u])), [updates.data]);
  const action = useAction();
  const [folder, setFolder] = useState("");
  const [family, setFamily] = useState("");
  const [minSize, setMinSize] = useState(0);
  const [query, setQuery] = useState(useLocation().query.get("q") ?? ""); // ?q=: a link from a finished training
  const [source, setSource] = useState("");
  const [pullType, setPullType] = useState("");
  const [inspected, setInspected] = useState<Inspection | null>(null);

  const events = useLatestEvent<{ tasks: Task[] }>("tasks");
  const [polled, setPolled] = useState<Task[]>([]);
  const tasks = (events?.tasks ?? polled).filter((t) => t.kind.startsWith("models."));
  const running = tasks.some((t) => t.state === "running" || t.state === "queued");
  // Without the event stream (or before its first message) poll our own task list.
  useEffect(() => {
    if (events) return;
    const timer = setInterval(() => get<{ tasks: Task[] }>("/api/models/tasks").then((d) => setPolled(d.tasks)).catch(() => {}), 1000);
    return () => clearInterval(timer);
  }, [events]);
  useTaskEnds(tasks, () => { list.reload(); trash.reload(); updates.reload(); });

  const shown = useMemo(
    () => (list.data?.models ?? []).filter((m) =>
      (!folder || m.folder === folder) && (!family || m.family === family) && m.size >= minSize &&
      (!query || m.rel.toLowerCase().includes(query.toLowerCase()))),
    [list.data, folder, family, minSize, query],
  );

  const refresh = () => { list.reload(); trash.reload(); };
  const pull = (body: Record<string, string>) => action.run(() => post("/api/models/pull", body)).then(() => setSource(""));
  const inspect = (m: Model) => action.run(async () => setInspected(await get<Inspection>(withQuery("/api/models/inspect", { path: m.path }))));
  const remove = (m: Model) => action.run(() => post("/api/models/delete", { path: m.path })).then(refresh);
  const restore = (id: string) => action.run(() => post(`/api/models/trash/${id}/restore`)).then(refresh);

  return (
    <div className="page models">
      <h1>Models</h1>
      <ErrorBanner message={list.error ?? action.error} />
      {list.data?.unreachable_roots.map((root) => (
        <p key={root} role="alert" className="error">Extra root {root} is not reachable (unmounted volume?): its models are not listed.</p>
      ))}

      <section aria-label="Pull a model" className="model-pull">
        <form onSubmit={(e) => { e.preventDefault(); if (source.trim()) pull(pullType ? { source, type: pullType } : { source }); }}>
          <input aria-label="Source" placeholder="hf:owner/repo/file.safetensors, CivitAI URL or AIR, or a URL"
            value={source} onChange={(e) => setSource(e.target.value)} size={60} />
          <select aria-label="Pull into" value={pullType} onChange={(e) => setPullType(e.target.value)}>
            <option value="">type: detect</option>
            {types.data?.folders.map((f) => <option key={f} value={f}>{f}</option>)}
          </select>
          <button type="submit" disabled={action.busy || !source.trim()}>Pull</button>
        </form>
        {manifest.data && (
          <details>
            <summary>One-click models (config/models.toml)</summary>
            <ul className="manifest">
              {Object.entries(manifest.data.models).map(([name, e]) => (
                <li key={name}><button onClick={() => pull({ manifest: name })} disabled={action.busy}>Pull</button> <b>{name}</b> {e.description}</li>
              ))}
            </ul>
          </details>
        )}
        {tasks.length > 0 && (
          <ul aria-label="Model tasks" className="tasks">
            {tasks.slice(0, 6).map((t) => (
              <li key={t.id} data-testid={`task-${t.state}`}>
                <span>{t.title}</span>{" "}
                {t.total ? <progress value={t.current} max={t.total} aria-label={`${t.title} progress`} /> : null}{" "}
                <span className="muted">{t.total ? (t.kind === "models.updates" ? `${t.current} / ${t.total} models` : `${formatBytes(t.current)} / ${formatBytes(t.total)}`) : ""} {t.state}</span>
                {t.error && <span className="error"> {t.error}</span>}
                {t.state === "running" && <button onClick={() => post(`/api/models/tasks/${t.id}/cancel`)}>Cancel</button>}
              </li>
            ))}
          </ul>
        )}
      </section>

      {types.data && <SearchPanel families={types.data.families} onPull={(source) => pull({ source })} busy={action.busy} />}

      <section aria-label="Filters" className="filters">
        <select aria-label="Type" value={folder} onChange={(e) => setFolder(e.target.value)}>
          <option value="">all types</option>
          {types.data?.folders.map((f) => <option key={f} value={f}>{f}</option>)}
        </select>
        <select aria-label="Base family" value={family} onChange={(e) => setFamily(e.target.value)}>
          <option value="">all families</option>
          {types.data && Object.entries(types.data.families).map(([k, v]) => <option key={k} value={k}>{v}</option>)}
        </select>
        <select aria-label="Size" value={minSize} onChange={(e) => setMinSize(Number(e.target.value))}>
          {SIZE_STEPS.map(([label, v]) => <option key={v} value={v}>{label}</option>)}
        </select>
        <input aria-label="Search" placeholder="name" value={query} onChange={(e) => setQuery(e.target.value)} />
        {!!list.data?.unhashed && (
          <button onClick={() => action.run(() => post("/api/models/hash", {}))} disabled={running}>
            Hash {list.data.unhashed} models
          </button>
        )}
        <button onClick={() => action.run(() => post("/api/models/sync-invokeai"))} disabled={running}>Register with InvokeAI</button>
        <button onClick={() => action.run(() => post("/api/models/updates"))} disabled={running}>Check for updates</button>
      </section>

      <div className="table-scroll">
        <table aria-label="Models">
          <thead><tr><th>Name</th><th>Type</th><th>Kind</th><th>Family</th><th>Size</th><th>AutoV2</th><th /></tr></thead>
          <tbody>
            {shown.map((m) => (
              <tr key={m.path}>
                <td title={m.path}>{m.rel.split("/").slice(1).join("/")}
                  {updateOf.get(m.path)?.status === "outdated" && (
                    <button className="badge update" title={updateOf.get(m.path)?.message} onClick={() => pull({ source: updateOf.get(m.path)!.pull! })}
                      aria-label={`Update ${m.name}`}>update: {updateOf.get(m.path)?.latest?.slice(0, 24)}</button>
                  )}
                  {(m.warning || m.error) && <div className="muted small">⚠ {m.error ?? m.warning}</div>}</td>
                <td>{m.folder}</td>
                <td>{m.kind}{m.rank ? ` r${m.rank}` : ""}</td>
                <td>{m.family_label ?? "–"}</td>
                <td>{formatBytes(m.size)}</td>
                <td><code>{m.autov2 ?? "–"}</code></td>
                <td>
                  <button onClick={() => inspect(m)} disabled={m.kind === "diffusers"}>Inspect</button>{" "}
                  <button onClick={() => remove(m)} aria-label={`Delete ${m.name}`}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {list.data && shown.length === 0 && <p className="muted">No models match.</p>}
      </div>

      {inspected && <InspectPanel report={inspected} onClose={() => setInspected(null)} />}

      {!!trash.data?.items.length && (
        <section aria-label="Deleted models">
          <h2>Deleted</h2>
          <ul>
            {trash.data.items.map((i) => (
              <li key={i.id}>
                {i.original} ({formatBytes(i.size)}){i.sidecars.length > 0 && <span className="muted"> with {i.sidecars.join(", ")}</span>}{" "}
                <button onClick={() => restore(i.id)} aria-label={`Restore ${i.name}`}>Restore</button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
