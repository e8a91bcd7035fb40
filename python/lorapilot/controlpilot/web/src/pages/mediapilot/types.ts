// Shapes of /api/mediapilot answers (see lorapilot/tools/mediapilot/api.py).

export interface MediaItem {
  id: number;
  root: string;
  rel: string;
  name: string;
  kind: "image" | "video";
  format: string | null;
  size: number;
  mtime_ns: number;
  width: number | null;
  height: number | null;
  duration: number | null;
  source: string | null;
  model: string | null;
  seed: string | null;
  steps: number | null;
  cfg: number | null;
  sampler: string | null;
  fav: number;
  error: string | null;
  has_workflow: number;
  trash_id: string | null;
  version: string;
}

export interface SearchPage {
  items: MediaItem[];
  next_cursor: string | null;
  total: number | null;
}

export interface LoraInfo {
  name: string;
  weight: number | null;
  clip_weight: number | null;
  hash: string | null;
}

export interface MediaDetail extends MediaItem {
  positive: string;
  negative: string;
  scheduler: string | null;
  model_hash: string | null;
  gen_width: number | null;
  gen_height: number | null;
  denoise: number | null;
  loras: LoraInfo[];
  tags: string[];
  raw_keys: string[];
  params: { extra: Record<string, unknown>; warnings: string[] } | null;
}

export interface BatchResult {
  done: number[];
  failed: Record<string, string>;
}

export interface TrashEntry {
  id: number;
  name: string;
  rel: string;
  size: number;
  kind: string;
  trash_id: string;
  deleted_at: number;
}

export interface CompareResult {
  ids: number[];
  items: { id: number; name: string }[];
  fields: { field: string; values: unknown[]; same: boolean }[];
  loras: { name: string; values: (number | null)[]; same: boolean }[];
  prompts: Record<"positive" | "negative", { common: string[]; only: string[][] }>;
}

export const thumbUrl = (item: Pick<MediaItem, "id" | "version">, size = 256) =>
  `/api/mediapilot/${item.id}/thumb?size=${size}&v=${item.version}`;
export const fileUrl = (item: Pick<MediaItem, "id" | "version">) => `/api/mediapilot/${item.id}/file?v=${item.version}`;
