import { useState } from "react";
import type { Profile } from "./api";

type Field = { path: string; label: string; kind: "number" | "text" | "bool" | "select" | "lines"; options?: string[] };

// The settings a user changes most; "All settings" edits every field as JSON.
const FIELDS: Field[] = [
  { path: "name", label: "LoRA name", kind: "text" },
  { path: "dataset.trigger_word", label: "Trigger word", kind: "text" },
  { path: "training.steps", label: "Steps", kind: "number" },
  { path: "training.batch_size", label: "Batch size", kind: "number" },
  { path: "dataset.resolution", label: "Resolution", kind: "number" },
  { path: "dataset.repeats", label: "Repeats", kind: "number" },
  { path: "network.rank", label: "Rank", kind: "number" },
  { path: "network.alpha", label: "Alpha", kind: "number" },
  { path: "optim.optimizer", label: "Optimizer", kind: "select", options: ["adamw", "adamw8bit", "prodigy", "adafactor"] },
  { path: "optim.learning_rate", label: "Learning rate", kind: "number" },
  { path: "training.mixed_precision", label: "Precision", kind: "select", options: ["bf16", "fp16", "no"] },
  { path: "training.gradient_checkpointing", label: "Gradient checkpointing", kind: "bool" },
  { path: "network.train_text_encoder", label: "Train text encoder", kind: "bool" },
  { path: "save.every_n_steps", label: "Save every N steps", kind: "number" },
  { path: "sample.every_n_steps", label: "Sample every N steps", kind: "number" },
  { path: "sample.prompts", label: "Sample prompts (one per line)", kind: "lines" },
];

function read(obj: Profile, path: string): unknown {
  return path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

function write(obj: Profile, path: string, value: unknown): Profile {
  const [head, ...rest] = path.split(".");
  return { ...obj, [head]: rest.length ? write(obj[head] ?? {}, rest.join("."), value) : value };
}

/** Edit a profile: the common fields as a form, every field as JSON. */
export function ProfileEditor({ profile, onChange, onBlur }: { profile: Profile; onChange: (p: Profile) => void; onBlur: (p: Profile) => void }) {
  const [json, setJson] = useState<string | null>(null);
  const [jsonError, setJsonError] = useState<string | null>(null);
  const set = (path: string, value: unknown) => onChange(write(profile, path, value));
  return (
    <div className="profile-editor">
      <div className="form-grid">
        {FIELDS.map((f) => {
          const value = read(profile, f.path);
          const id = `field-${f.path}`;
          if (f.kind === "bool")
            return (
              <label key={f.path} className="inline" htmlFor={id}>
                <input id={id} type="checkbox" checked={Boolean(value)} onChange={(e) => set(f.path, e.target.checked)} onBlur={() => onBlur(profile)} /> {f.label}
              </label>
            );
          return (
            <label key={f.path} htmlFor={id}>
              {f.label}
              {f.kind === "select" ? (
                <select id={id} value={String(value)} onChange={(e) => set(f.path, e.target.value)} onBlur={() => onBlur(profile)}>
                  {f.options!.map((o) => <option key={o}>{o}</option>)}
                </select>
              ) : f.kind === "lines" ? (
                <textarea id={id} rows={3} value={((value as string[]) ?? []).join("\n")}
                  onChange={(e) => set(f.path, e.target.value.split("\n").filter((l) => l.trim()))} onBlur={() => onBlur(profile)} />
              ) : (
                <input id={id} type={f.kind === "number" ? "number" : "text"} step="any" value={String(value ?? "")}
                  onChange={(e) => set(f.path, f.kind === "number" ? Number(e.target.value) : e.target.value)} onBlur={() => onBlur(profile)} />
              )}
            </label>
          );
        })}
      </div>
      <details onToggle={(e) => setJson((e.target as HTMLDetailsElement).open ? JSON.stringify(profile, null, 2) : null)}>
        <summary>All settings</summary>
        {json !== null && (
          <>
            <textarea className="json" rows={20} value={json} aria-label="All settings as JSON"
              onChange={(e) => setJson(e.target.value)}
              onBlur={() => {
                try {
                  const parsed = JSON.parse(json);
                  setJsonError(null);
                  onChange(parsed);
                  onBlur(parsed);
                } catch (err) {
                  setJsonError(`not valid JSON: ${(err as Error).message}`);
                }
              }} />
            {jsonError && <p className="card-error" role="alert">{jsonError}</p>}
          </>
        )}
      </details>
    </div>
  );
}
