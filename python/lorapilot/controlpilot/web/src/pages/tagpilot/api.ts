// TagPilot's API shapes and calls (mirrors lorapilot/tagpilot/api.py).

import { api, post, withQuery } from "../../api/client";
import type { Task } from "../../api/types";

export interface DatasetSummary { name: string; images: number; captioned: number }

export interface DatasetStats {
  name: string;
  images: number;
  bytes: number;
  captioned: number;
  captioned_pct: number;
  undecodable: number;
  non_utf8_captions: number;
  excluded: number;
  width: { min: number; max: number; mean: number } | null;
  height: { min: number; max: number; mean: number } | null;
  aspect_ratios: Record<string, number>;
  short_side: Record<string, number>;
}

export interface ImageRecord {
  name: string;
  width: number | null;
  height: number | null;
  error: string | null;
  caption: string;
  version: string;
  has_caption: boolean;
  non_utf8: boolean;
  tags: string[];
}

export interface ImagesPage { total: number; matched: number; offset: number; images: ImageRecord[] }
export interface TagCount { tag: string; count: number }

export type OpKind = "add" | "remove" | "replace" | "find_replace" | "dedupe" | "sort" | "consolidate";
export interface OpSpec {
  kind: OpKind;
  tag?: string;
  tags?: string[];
  new?: string;
  position?: number;
  find?: string;
  replace?: string;
  regex?: boolean;
  ignore_case?: boolean;
  keep_first?: number;
  by_frequency?: boolean;
}

export interface FileDiff { image: string; version: string; before: string; after: string; added: string[]; removed: string[] }
export interface Preview {
  description: string;
  selected: number;
  changed: number;
  diffs: FileDiff[];
  truncated: boolean;
  expected: Record<string, string>;
}

export interface HistoryEntry { id: number; created_at: number; description: string; source: string; state: string; files: number }
export interface HistoryState { entries: HistoryEntry[]; can_undo: boolean; can_redo: boolean }

export interface Finding { check: string; images: string[]; detail: string; keep: string | null }
export interface CheckReport { images: number; measured: number; counts: Record<string, number>; findings: Finding[] }

export interface Caption { text: string; version: string; exists: boolean; non_utf8: boolean }

export const base = (name: string) => `/api/tagpilot/datasets/${encodeURIComponent(name)}`;
export const imageUrl = (name: string, image: string, what: "file" | "thumb", size = 256) =>
  `${base(name)}/images/${encodeURIComponent(image)}/${what}` + (what === "thumb" ? `?size=${size}` : "");

/** The target of a bulk operation: the selected images, else everything the filter matches. */
export interface Target { query?: string; images?: string[] }

export const previewOp = (name: string, op: OpSpec, target: Target) =>
  post<Preview>(`${base(name)}/ops/preview`, { op, ...target, limit: 500 });
export const applyOp = (name: string, op: OpSpec, target: Target, expected: Record<string, string>) =>
  post<HistoryEntry>(`${base(name)}/ops/apply`, { op, ...target, expected });
export const saveCaption = (name: string, image: string, text: string, version: string) =>
  api<Caption>("PUT", `${base(name)}/images/${encodeURIComponent(image)}/caption`, { text, version });
export const tagsUrl = (name: string, params: { prefix?: string; q?: string; limit?: number }) =>
  withQuery(`${base(name)}/tags`, params);
export const cancelTask = (id: string) => post<Task>(`/api/tasks/${encodeURIComponent(id)}/cancel`);
