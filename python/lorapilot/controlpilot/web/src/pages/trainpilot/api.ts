// Shapes of /api/trainpilot/... (mirrors lorapilot.tools.trainpilot: Job.to_dict, job_detail, presets, pickers).

export type JobState = "queued" | "running" | "done" | "failed" | "cancelled";

export interface Job {
  id: number;
  name: string;
  trainer: string;
  family: string;
  dataset: string;
  state: JobState;
  step: number | null;
  total: number | null;
  loss: number | null;
  lr: number | null;
  its: number | null;
  eta_s: number | null;
  fraction: number | null;
  latest_sample: string | null;
  latest_checkpoint: string | null;
  final_lora: string | null;
  error: string | null;
  log_tail: string | null;
  cancel_request: string | null;
  gpu_ids: string[];
  attempts: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
  retry_of: number | null;
  run_dir: string;
  planned_steps: number;
  resumable: boolean;
  can_save_stop: boolean;
  profile?: Profile;
}

export interface JobDetail extends Job {
  profile: Profile;
  points: { step: number; loss: number | null; lr: number | null; its: number | null }[];
  samples: { step: number; path: string; name: string }[];
  checkpoints: { step: number; path: string }[];
  states: { step: number; path: string }[];
  log: string[];
}

export interface Issue {
  field: string;
  message: string;
  level: "error" | "warning";
}

export interface Preset {
  id: string;
  family: string;
  family_title: string;
  quality: "quick" | "regular" | "high";
  vram_gb: number;
  fits: boolean;
  reason: string;
}

/** GET /api/trainpilot/trainers?family=&base=: what each trainer says about a family, base model and tier. */
export interface TrainerChoice {
  name: string;
  title: string;
  issues: Issue[]; // the family or the base model does not suit this trainer
  tiers: Record<string, string>; // VRAM tier → why it does not fit ("" when it does)
}

/** Where the new-training flow starts (GET /api/trainpilot/defaults), with why. */
export interface FlowDefaults {
  family: string;
  trainer: string;
  quality: "quick" | "regular" | "high";
  vram_gb: number;
  cpu: boolean;
  gpu_memory_gib: number | null;
  reasons: string[];
}

export interface DatasetInfo {
  name: string;
  num_images: number;
  num_captioned: number;
  num_clips: number; // video clips: only Diffusion Pipe trains on them (Wan, HunyuanVideo, LTX-Video)
  trigger_word: string;
  sample_captions: string[];
  handoff: Record<string, unknown> | null;
}

export interface BaseModel {
  path: string;
  folder: string;
  kind: "file" | "diffusers" | "folder";
  family: string | null;
  size: number;
}

// A profile is edited as loose JSON; the server validates every field.
export type Profile = Record<string, any>;

export interface QueueStatus {
  worker_running: boolean;
  gpus: string[];
  counts: Record<JobState, number>;
  /** What the first queued job waits for (GPU memory held by inference apps), or null. */
  waiting_for: { job: number; gpus: string[]; message: string; since: number } | null;
}

export const FAMILIES: Record<string, string> = {
  sd15: "Stable Diffusion 1.5",
  sdxl: "SDXL",
  sd3: "Stable Diffusion 3.5",
  flux1: "FLUX.1",
  sd2: "Stable Diffusion 2.x",
  chroma: "Chroma",
  wan21: "Wan 2.1 (text-to-video)",
  lumina2: "Lumina Image 2.0",
  hidream: "HiDream-I1",
  hunyuanvideo: "HunyuanVideo",
  ltxvideo: "LTX-Video",
  qwenimage: "Qwen-Image",
  wan22: "Wan 2.2 (text-to-video)",
  flux2: "FLUX.2",
  zimage: "Z-Image",
};

export const TRAINERS: Record<string, string> = {
  kohya: "Kohya sd-scripts",
  "ai-toolkit": "AI Toolkit",
  "diffusion-pipe": "Diffusion Pipe",
  native: "Native (diffusers + peft)",
};

export const fileUrl = (jobId: number, path: string) =>
  `/api/trainpilot/jobs/${jobId}/file?path=${encodeURIComponent(path)}`;

// /api/trainpilot/jobs/{id}/grid (mirrors lorapilot.tools.trainpilot.grid.schema).
export interface GridCell {
  row: number;
  col: number;
  file: string;
  checkpoint: string;
  step: number | null;
  weight: number;
  prompt: string;
  seed: number;
}

export interface GridStatus {
  manifest: { renderer: string; rows: string[]; cols: string[]; cells: GridCell[]; grid: string } | null;
  folder: string;
  task: { id: string; state: string; current: number; total: number | null; message: string; error: string | null } | null;
}
