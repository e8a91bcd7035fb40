import { useEffect, useState } from "react";
import { api, get, post, withQuery } from "../../api/client";
import { ErrorBanner } from "../../components/ErrorBanner";
import { formatBytes } from "../../components/format";
import { useAction, useApi } from "../../hooks/useApi";
import { navigate, useLocation } from "../../router";
import { FAMILIES, type BaseModel, type DatasetInfo, type FlowDefaults, type Issue, type Job, type Preset, type Profile, type TrainerChoice } from "./api";
import { ProfileEditor } from "./ProfileEditor";
import { RegularizationPicker, type Regularization } from "./RegularizationPicker";

const STEPS = ["Dataset", "Base model", "Preset", "Review"] as const;
const QUALITIES = ["quick", "regular", "high"] as const;
const TIERS = [8, 12, 16, 24, 48];
/** Files some trainers need besides the base model, per family (the profile's model.<slot>), and why. */
const FAMILY_PARTS: Record<string, { slots: string[]; hint: string }> = {
  flux1: {
    slots: ["clip_l", "t5xxl", "ae"],
    hint: "Kohya trains FLUX.1 from separate files; AI Toolkit, Diffusion Pipe and the native trainer read a diffusers folder instead (the native trainer only that, on 48+ GB).",
  },
  chroma: {
    slots: ["diffusers"],
    hint: "Diffusion Pipe takes Chroma's T5 text encoder and VAE from a FLUX.1 diffusers folder (dev or schnell); AI Toolkit fetches them itself.",
  },
  lumina2: {
    slots: ["llm", "vae"],
    hint: "Diffusion Pipe trains Lumina 2 from three files: the transformer (base), Gemma-2 2B (llm) and the FLUX VAE (vae). AI Toolkit reads a diffusers folder instead.",
  },
  hidream: {
    slots: ["llm"],
    hint: "HiDream's Llama 3.1 8B Instruct text encoder (a folder): Diffusion Pipe needs it; without it AI Toolkit fetches it from Hugging Face.",
  },
  hunyuanvideo: {
    slots: ["vae", "llm", "clip_l"],
    hint: "Diffusion Pipe trains HunyuanVideo from ComfyUI's files: the transformer (base), its VAE, the llava-llama-3-8b text encoder folder (llm) and the clip-vit-large-patch14 folder (clip_l).",
  },
  ltxvideo: {
    slots: ["diffusers"],
    hint: "Diffusion Pipe takes LTX-Video's transformer and VAE from the checkpoint file (base) and its T5 text encoder from the LTX-Video diffusers folder.",
  },
  wan21: {
    slots: ["llm"],
    hint: "Optional, Diffusion Pipe: a UMT5 .safetensors instead of the one in the official Wan 2.1 folder (AI Toolkit reads the -Diffusers folder).",
  },
  wan22: {
    slots: ["llm"],
    hint: "Diffusion Pipe reads the official Wan 2.2 folder (Wan2.2-T2V-A14B, training its low-noise expert, or Wan2.2-TI2V-5B); optional: a UMT5 .safetensors instead of the folder's. AI Toolkit reads the -Diffusers folder (both A14B experts, or TI2V 5B).",
  },
  flux2: {
    slots: ["vae", "llm"],
    hint: "FLUX.2 from ComfyUI's files: the transformer (base, dev or a Klein base) and its VAE; Diffusion Pipe also needs the text encoder file (llm: Mistral Small 3 for dev, Qwen3 for Klein). AI Toolkit fetches the text encoder from Hugging Face.",
  },
  zimage: {
    slots: ["vae", "llm", "adapter"],
    hint: "Diffusion Pipe trains Z-Image from ComfyUI's files: the transformer (base), the FLUX.1 VAE (vae) and Qwen3 4B (llm). AI Toolkit reads the Z-Image diffusers folder instead. Z-Image-Turbo trains with its training adapter LoRA merged in (adapter), in both.",
  },
  qwenimage: {
    slots: [],
    hint: "Qwen-Image trains from its diffusers folder (transformer, Qwen2.5-VL text encoder and VAE together), with AI Toolkit or Diffusion Pipe; 24 GB cards train at 640 px.",
  },
};

/** The guided flow: dataset → base model → preset → review; accepts ?dataset=<name>, or ?profile=<name>
 * to open a saved profile in the review step. */
export function NewTraining() {
  const { query } = useLocation();
  const editing = query.get("profile");
  const [stage, setStage] = useState(editing ? 3 : query.get("dataset") ? 1 : 0);
  const [dataset, setDataset] = useState(query.get("dataset") ?? "");
  const [family, setFamily] = useState("sdxl");
  const [base, setBase] = useState("");
  const [parts, setParts] = useState<Record<string, string>>({});
  const [quality, setQuality] = useState<(typeof QUALITIES)[number]>("regular");
  const [vram, setVram] = useState(24);
  const [trainer, setTrainer] = useState("kohya");
  const [name, setName] = useState("");
  const [nameEdited, setNameEdited] = useState(false);
  const [trigger, setTrigger] = useState<string | null>(null); // null: the dataset's (TagPilot handoff)
  const [regularization, setRegularization] = useState<Regularization | null>(null);
  const [profile, setProfile] = useState<Profile | null>(null);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [savedAs, setSavedAs] = useState<{ name: string; path: string } | null>(null);
  const action = useAction();
  // Re-validating (on leaving a field) has its own busy flag: it must not disable Save or Queue under the
  // pointer, or the click that moved the focus there is lost.
  const validation = useAction();

  // Start from what is here (the base models' family, an installed trainer, the GPU's tier or the CPU
  // preset), once, and never over a choice the user already made (the answer may come late).
  const defaults = useApi<FlowDefaults>(editing ? null : "/api/trainpilot/defaults");
  const [defaultsApplied, setDefaultsApplied] = useState(false);
  useEffect(() => {
    const d = defaults.data;
    if (!d || defaultsApplied) return;
    setFamily(d.family);
    setTrainer(d.trainer);
    setQuality(d.quality);
    setVram(d.vram_gb);
    setDefaultsApplied(true);
  }, [defaults.data, defaultsApplied]);
  const datasets = useApi<DatasetInfo[]>("/api/trainpilot/datasets");
  const models = useApi<BaseModel[]>(stage >= 1 ? withQuery("/api/trainpilot/models", { family }) : null);
  const presets = useApi<Preset[]>("/api/trainpilot/presets");
  const choices = useApi<TrainerChoice[]>(stage >= 2 && base ? withQuery("/api/trainpilot/trainers", { family, base }) : null);
  const chosen = datasets.data?.find((d) => d.name === dataset);
  const preset = presets.data?.find((p) => p.family === family && p.quality === quality && p.vram_gb === vram);
  const triggerWord = trigger ?? chosen?.trigger_word ?? "";
  // Which trainer takes this family and base model, on which tier (validation's own words).
  const usable = (c: TrainerChoice) => !c.issues.some((i) => i.level === "error");
  const choice = choices.data?.find((c) => c.name === trainer);
  const tierProblem = choice ? choice.tiers[String(vram)] : preset && !preset.fits ? preset.reason : "";

  // Move off a trainer that cannot take this model. A functional update: a choice the user makes between
  // this render and the effect must win over the switch computed from the render before it.
  useEffect(() => {
    const list = choices.data;
    const first = list?.find(usable);
    if (!list || !first) return;
    setTrainer((current) => {
      const c = list.find((x) => x.name === current);
      return c && !usable(c) ? first.name : current;
    });
  }, [choices.data]);

  useEffect(() => {
    if (dataset && !nameEdited) setName(`${dataset}-${family}`.replace(/[^A-Za-z0-9._-]/g, "-"));
  }, [dataset, family, nameEdited]);

  const draft = () =>
    action.run(async () => {
      const body = { name, dataset, base, family, quality, vram_gb: vram, trainer, trigger_word: triggerWord.trim(), ...parts, regularization };
      const result = await post<{ profile: Profile; issues: Issue[] }>("/api/trainpilot/profiles/draft", body);
      setProfile(result.profile);
      setIssues(result.issues);
      setStage(3);
    });
  const revalidate = (p: Profile) =>
    validation.run(async () => setIssues(await post<Issue[]>("/api/trainpilot/profiles/validate", p)));
  useEffect(() => {
    if (!editing) return;
    action.run(async () => {
      const saved = await get<Profile>(`/api/trainpilot/profiles/${encodeURIComponent(editing)}`);
      setProfile(saved);
      setSavedAs({ name: editing, path: "" });
      setIssues(await post<Issue[]>("/api/trainpilot/profiles/validate", saved));
    });
  }, [editing]);
  // Replace a saved file only when it is the one opened or saved here; another profile's name is refused.
  const save = () =>
    action.run(async () => {
      const overwrite = savedAs?.name === profile!.name;
      const r = await api<{ path: string; issues: Issue[] }>("PUT", withQuery(`/api/trainpilot/profiles/${encodeURIComponent(profile!.name)}`, { overwrite }), profile);
      setIssues(r.issues);
      setSavedAs({ name: profile!.name, path: r.path });
    });
  const queue = () =>
    action.run(async () => {
      const r = await post<{ job: Job }>("/api/trainpilot/jobs", { profile });
      navigate(`/trainpilot/jobs/${r.job.id}`);
    });

  return (
    <div className="page train">
      <h1>New training</h1>
      <ol className="stepper" aria-label="Steps">
        {STEPS.map((s, i) => (
          <li key={s} className={i === stage ? "current" : i < stage ? "done" : ""}>
            <button type="button" className="link" disabled={i > stage} onClick={() => setStage(i)}>
              {i + 1}. {s}
            </button>
          </li>
        ))}
      </ol>
      <ErrorBanner message={datasets.error ?? models.error ?? presets.error ?? choices.error ?? action.error ?? validation.error} />

      {stage === 0 && (
        <section aria-label="Choose a dataset" className="choices">
          {datasets.data?.length === 0 && <p className="muted">No datasets yet: put images with .txt captions in datasets/&lt;name&gt;/.</p>}
          {datasets.data?.map((d) => (
            <button key={d.name} type="button" className={`choice${d.name === dataset ? " selected" : ""}`}
              onClick={() => { setDataset(d.name); setStage(1); }}>
              <strong>{d.name}</strong>
              <span className="muted">{d.num_images} images{d.num_clips > 0 && ` · ${d.num_clips} video clips (Diffusion Pipe: Wan, HunyuanVideo, LTX-Video)`} · {d.num_captioned} captioned{d.trigger_word && ` · trigger ${d.trigger_word}`}</span>
            </button>
          ))}
        </section>
      )}

      {stage === 1 && (
        <section aria-label="Choose a base model">
          <p className="muted">Dataset <strong>{dataset}</strong>{chosen && ` (${chosen.num_images} images${chosen.num_clips > 0 ? `, ${chosen.num_clips} video clips` : ""})`}</p>
          <label>
            Family
            <select value={family} onChange={(e) => { setDefaultsApplied(true); setFamily(e.target.value); setBase(""); setParts({}); }}>
              {Object.entries(FAMILIES).map(([id, title]) => <option key={id} value={id}>{title}</option>)}
            </select>
          </label>
          <div className="choices">
            {models.data?.length === 0 && <p className="muted">No {FAMILIES[family]} model in models/checkpoints, diffusion_models or diffusers.</p>}
            {models.data?.map((m) => (
              <button key={m.path} type="button" className={`choice${m.path === base ? " selected" : ""}`} onClick={() => { setDefaultsApplied(true); setBase(m.path); }}>
                <strong>{m.path}</strong>
                <span className="muted">{m.family ? FAMILIES[m.family] : "unknown family"} · {m.kind} · {formatBytes(m.size)}</span>
              </button>
            ))}
          </div>
          {FAMILY_PARTS[family] && <FamilyParts family={family} parts={parts} setParts={setParts} />}
          <button type="button" className="primary" disabled={!base} onClick={() => setStage(2)}>Next</button>
        </section>
      )}

      {stage === 2 && (
        <section aria-label="Choose a preset" className="form-grid">
          <label>
            Trainer
            <select value={trainer} onChange={(e) => { setDefaultsApplied(true); setTrainer(e.target.value); }}>
              {choices.data?.map((c) => (
                <option key={c.name} value={c.name} disabled={!usable(c)}>{c.title}{usable(c) ? "" : " (not for this model)"}</option>
              ))}
            </select>
          </label>
          <UnusableTrainers choices={choices.data} />
          {defaults.data && (
            <div className="muted defaults-why" data-testid="defaults-why">
              {defaults.data.cpu ? "No GPU found: starting from the CPU preset." : "Starting from this machine:"}
              <ul>
                {defaults.data.reasons.map((r) => <li key={r}>{r}</li>)}
              </ul>
            </div>
          )}
          <fieldset>
            <legend>Quality</legend>
            {QUALITIES.map((q) => (
              <label key={q} className="inline">
                <input type="radio" name="quality" value={q} checked={quality === q} onChange={() => { setDefaultsApplied(true); setQuality(q); }} /> {q}
              </label>
            ))}
          </fieldset>
          <label>
            GPU memory
            <select value={vram} onChange={(e) => { setDefaultsApplied(true); setVram(Number(e.target.value)); }}>
              {TIERS.map((t) => (
                <option key={t} value={t} disabled={!!choice?.tiers[String(t)]}>
                  {t === 48 ? "48+ GB" : `${t} GB`}{choice?.tiers[String(t)] ? " (too small)" : ""}
                </option>
              ))}
            </select>
          </label>
          <label>
            Trigger word
            <input value={triggerWord} placeholder="optional, e.g. ohwx" onChange={(e) => setTrigger(e.target.value)} />
          </label>
          <label>
            LoRA name
            <input value={name} onChange={(e) => { setName(e.target.value); setNameEdited(true); }} />
          </label>
          <RegularizationPicker dataset={dataset} value={regularization} onChange={setRegularization} />
          <ErrorBanner message={tierProblem && `vram_gb: ${tierProblem}`} />
          <button type="button" className="primary" disabled={action.busy || !name || !choice || !usable(choice) || !!tierProblem} onClick={draft}>
            Review
          </button>
        </section>
      )}

      {stage === 3 && profile && (
        <section aria-label="Review">
          <IssueList issues={issues} />
          <ProfileEditor profile={profile} onChange={setProfile} onBlur={revalidate} />
          <div className="job-actions">
            <button type="button" disabled={action.busy} onClick={save}>Save profile</button>
            {savedAs?.path && <span className="ok-note" role="status">Saved as {savedAs.path}</span>}
            <button type="button" className="primary" disabled={action.busy || issues.some((i) => i.level === "error")} onClick={queue}>
              Queue training
            </button>
          </div>
        </section>
      )}
    </div>
  );
}

function FamilyParts({ family, parts, setParts }: { family: string; parts: Record<string, string>; setParts: (p: Record<string, string>) => void }) {
  const { slots, hint } = FAMILY_PARTS[family];
  return (
    <div className="form-grid">
      <p className="hint">{hint}</p>
      {slots.map((slot) => <PartPicker key={slot} slot={slot} value={parts[slot] ?? ""} onChange={(v) => setParts({ ...parts, [slot]: v })} />)}
    </div>
  );
}

function PartPicker({ slot, value, onChange }: { slot: string; value: string; onChange: (v: string) => void }) {
  const options = useApi<string[]>(`/api/trainpilot/components/${slot}`);
  return (
    <label>
      {slot}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">(none)</option>
        {options.data?.map((p) => <option key={p} value={p}>{p}</option>)}
      </select>
    </label>
  );
}

/** Why the trainers that cannot take this family or base model are greyed out. */
function UnusableTrainers({ choices }: { choices: TrainerChoice[] | undefined }) {
  const unusable = choices?.filter((c) => c.issues.some((i) => i.level === "error")) ?? [];
  if (unusable.length === 0) return null;
  return (
    <ul className="issues hint" aria-label="Not for this model">
      {unusable.map((c) => (
        <li key={c.name}>
          <strong>{c.title}</strong>: {c.issues.map((i) => `${i.field}: ${i.message}`).join("; ")}
        </li>
      ))}
    </ul>
  );
}

export function IssueList({ issues }: { issues: Issue[] }) {
  if (issues.length === 0) return <p className="ok-note" role="status">No problems found.</p>;
  return (
    <ul className="issues" aria-label="Problems">
      {issues.map((i) => (
        <li key={i.field + i.message} className={i.level}>
          <strong>{i.field}</strong>: {i.message}
        </li>
      ))}
    </ul>
  );
}
