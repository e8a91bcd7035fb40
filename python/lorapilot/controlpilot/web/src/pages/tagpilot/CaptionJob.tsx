import { useEffect, useState } from "react";
import { api, post } from "../../api/client";
import type { Task } from "../../api/types";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useAction, useApi } from "../../hooks/useApi";
import { base, cancelTask, type Target } from "./api";
import TaskProgress from "./TaskProgress";
import { finished, useOnTrue, useTask } from "./useTask";

interface Config {
  wd14_model_dir: string;
  vlm: { base_url: string; model: string; prompt: string };
  vlm_api_key_set: boolean;
  onnxruntime_installed: boolean;
  local_models_dir: string;
  local_captioners: Record<string, string>;
}
type CaptionerId = "wd14" | "vlm" | "florence2" | "joycaption" | "qwen25vl";
const LOCAL_TITLES: Record<string, string> = { florence2: "Florence-2", joycaption: "JoyCaption", qwen25vl: "Qwen2.5-VL" };
const FLORENCE_TASKS = ["<CAPTION>", "<DETAILED_CAPTION>", "<MORE_DETAILED_CAPTION>"];
const JOY_TYPES = ["descriptive", "casual", "stable-diffusion", "midjourney"];
const JOY_LENGTHS = ["any", "very short", "short", "medium-length", "long", "very long"];
interface RunReport { written: number; skipped: number; unchanged: number; errors: { image: string; error: string }[]; cancelled: boolean }

/** Start a captioner (WD14 tagger, a VLM server or a local model) as a background job and follow it live. */
export default function CaptionJob({ name, target, targetLabel, onFinished }: {
  name: string;
  target: Target;
  targetLabel: string;
  onFinished: () => void;
}) {
  const config = useApi<Config>("/api/tagpilot/config");
  const [captioner, setCaptioner] = useState<CaptionerId>("wd14");
  const [mode, setMode] = useState("ignore");
  const [modelDir, setModelDir] = useState("");
  const [general, setGeneral] = useState(0.35);
  const [character, setCharacter] = useState(0.85);
  const [mcut, setMcut] = useState(false);
  const [exclude, setExclude] = useState("");
  const [vlm, setVlm] = useState({ base_url: "", model: "", prompt: "" });
  const [key, setKey] = useState("");
  const [local, setLocal] = useState({ model_dir: "", prompt: "", caption_type: "descriptive", caption_length: "long", max_new_tokens: 256, temperature: 0 });
  const isLocal = captioner in LOCAL_TITLES;
  const job = useTask();
  const action = useAction();
  const report = (job.task as (Task & { result?: RunReport }) | undefined)?.result;

  useEffect(() => {
    if (!config.data) return;
    setModelDir((d) => d || config.data!.wd14_model_dir);
    const { base_url, model, prompt } = config.data.vlm;  // only what a job may override
    setVlm((v) => (v.base_url ? v : { base_url, model, prompt }));
  }, [config.data]);
  const done = finished(job.task);
  useOnTrue(done, onFinished);

  const start = () =>
    action.run(async () => {
      const body = {
        captioner, mode, ...target,
        wd14: { model_dir: modelDir || null, general_threshold: general, character_threshold: character,
                general_mcut: mcut, character_mcut: mcut, exclude: exclude.split(",").map((t) => t.trim()).filter(Boolean) },
        vlm,
        local: { ...local, model_dir: local.model_dir || null, prompt: local.prompt || null },
      };
      job.follow(await post<Task>(`${base(name)}/caption`, body));
    });
  const saveKey = () => action.run(() => api("PUT", "/api/tagpilot/vlm-key", { value: key })).then(() => { setKey(""); config.reload(); });

  return (
    <section className="card tp-job" aria-label="Auto-caption">
      <ErrorBanner message={config.error ?? action.error} onClose={action.clearError} />
      <div className="tp-form">
        <label>Captioner
          <select value={captioner} onChange={(e) => { setCaptioner(e.target.value as CaptionerId); setLocal({ ...local, prompt: "" }); }}>
            <option value="wd14">WD14 tagger (ONNX)</option>
            <option value="vlm">Vision-language model (OpenAI-compatible)</option>
            <option value="florence2">Florence-2 (local)</option>
            <option value="joycaption">JoyCaption (local)</option>
            <option value="qwen25vl">Qwen2.5-VL (local)</option>
          </select>
        </label>
        <label>Existing captions
          <select value={mode} onChange={(e) => setMode(e.target.value)} aria-label="Mode">
            <option value="ignore">ignore: skip captioned images</option>
            <option value="append">append: add what is new</option>
            <option value="overwrite">overwrite</option>
          </select>
        </label>
        {captioner === "wd14" ? (
          <>
            <label>Model folder (model.onnx + selected_tags.csv, inside the workspace)
              <input value={modelDir} onChange={(e) => setModelDir(e.target.value)} placeholder="models/wd14/wd-vit-tagger-v3" />
            </label>
            <label>General threshold <input type="number" step={0.01} min={0} max={1} value={general} onChange={(e) => setGeneral(Number(e.target.value))} /></label>
            <label>Character threshold <input type="number" step={0.01} min={0} max={1} value={character} onChange={(e) => setCharacter(Number(e.target.value))} /></label>
            <label className="tp-inline"><input type="checkbox" checked={mcut} onChange={(e) => setMcut(e.target.checked)} /> MCut thresholds</label>
            <label>Never write these tags <input value={exclude} onChange={(e) => setExclude(e.target.value)} placeholder="comma separated" /></label>
            {config.data && !config.data.onnxruntime_installed && <p className="card-error">onnxruntime is not installed (pip install 'lorapilot[tag]')</p>}
          </>
        ) : isLocal ? (
          <>
            <label>Model folder (inside the workspace)
              <input value={local.model_dir} onChange={(e) => setLocal({ ...local, model_dir: e.target.value })}
                placeholder={`${config.data?.local_models_dir ?? "models/captioners"}/${captioner}`} />
            </label>
            {captioner === "florence2" && (
              <label>Task
                <select value={local.prompt || "<MORE_DETAILED_CAPTION>"} onChange={(e) => setLocal({ ...local, prompt: e.target.value })}>
                  {FLORENCE_TASKS.map((t) => <option key={t} value={t}>{t}</option>)}
                </select>
              </label>
            )}
            {captioner === "joycaption" && (
              <>
                <label>Caption type
                  <select value={local.caption_type} onChange={(e) => setLocal({ ...local, caption_type: e.target.value })}>
                    {JOY_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
                  </select>
                </label>
                <label>Caption length
                  <select value={local.caption_length} onChange={(e) => setLocal({ ...local, caption_length: e.target.value })}>
                    {JOY_LENGTHS.map((t) => <option key={t} value={t}>{t}</option>)}
                  </select>
                </label>
              </>
            )}
            {captioner !== "florence2" && (
              <label>Instruction {captioner === "joycaption" && "(overrides type and length)"}
                <textarea rows={2} value={local.prompt} onChange={(e) => setLocal({ ...local, prompt: e.target.value })}
                  placeholder={captioner === "joycaption" ? "from caption type and length" : "the default captioning instruction"} />
              </label>
            )}
            <label>Max new tokens <input type="number" min={1} max={4096} value={local.max_new_tokens} onChange={(e) => setLocal({ ...local, max_new_tokens: Number(e.target.value) })} /></label>
            <label>Temperature (0 = greedy) <input type="number" step={0.1} min={0} max={2} value={local.temperature} onChange={(e) => setLocal({ ...local, temperature: Number(e.target.value) })} /></label>
          </>
        ) : (
          <>
            <label>Endpoint <input value={vlm.base_url} onChange={(e) => setVlm({ ...vlm, base_url: e.target.value })} placeholder="http://127.0.0.1:8000/v1" /></label>
            <label>Model <input value={vlm.model} onChange={(e) => setVlm({ ...vlm, model: e.target.value })} /></label>
            <label>Prompt template ({"{name}"}, {"{caption}"}, {"{trigger}"})
              <textarea rows={3} value={vlm.prompt} onChange={(e) => setVlm({ ...vlm, prompt: e.target.value })} />
            </label>
            <div className="tp-row">
              <span className="muted">API key: {config.data?.vlm_api_key_set ? "set" : "not set"}</span>
              <input type="password" aria-label="API key" placeholder="new API key" value={key} onChange={(e) => setKey(e.target.value)} />
              <button disabled={!key} onClick={() => void saveKey()}>Save key</button>
            </div>
          </>
        )}
      </div>
      {isLocal && (
        <p className="muted">Runs on this machine through transformers (GPU when present, else CPU). The model folder holds
          the Hugging Face repo {config.data?.local_captioners[captioner] ?? ""}.</p>
      )}
      <button className="primary" disabled={action.busy || (!!job.task && !done)} onClick={() => void start()}>Start captioning</button>
      <span className="muted"> on {targetLabel}</span>
      {job.task && <TaskProgress task={job.task} onCancel={() => void action.run(() => cancelTask(job.task!.id))} />}
      {report && (
        <p data-testid="caption-report">
          {report.written} written, {report.unchanged} unchanged, {report.skipped} skipped, {report.errors.length} errors
          {report.cancelled && " (cancelled)"}
        </p>
      )}
      {report?.errors.map((e) => <p key={e.image} className="card-error">{e.image}: {e.error}</p>)}
    </section>
  );
}
