// TagPilot's API shapes and calls: answers are types generated from the API's schema
// (../../api/schema.ts; the models are lorapilot/tools/tagpilot/api_models.py).

import { api, post, withQuery } from "../../api/client";
import type { components } from "../../api/schema";
import type { Task } from "../../api/types";

type Schemas = components["schemas"];

export type DatasetSummary = Schemas["DatasetSummary"];
export type DatasetStats = Schemas["DatasetStats"];

/** Mark a dataset as a regularization (class image) set for TrainPilot, or unmark it. */
export const markRegularization = (name: string, on: boolean) =>
  api<Schemas["DatasetMetaOut"]>("PUT", `${base(name)}/regularization`, { regularization: on });
export type ImageRecord = Schemas["ImageRecordView"];
export type ImagesPage = Schemas["ImagePage"];
export type ClipFacts = Schemas["ClipFacts"];

/** `2.0 s · 16 frames · 8 fps · 64×48`, as the CLI prints a clip. */
export const clipFacts = (c: ClipFacts) => `${c.duration.toFixed(1)} s · ${c.frames} frames · ${c.fps} fps · ${c.width}×${c.height}`;
export type TagCount = Schemas["TagCount"];

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

export type FileDiff = Schemas["FileDiffView"];
export type Preview = Schemas["OpPreview"];
export type HistoryEntry = Schemas["HistoryEntryView"];
export type HistoryState = Schemas["HistoryState"];

// A checks task's result (TaskView.result carries it, untyped in the schema).
export interface Finding { check: string; images: string[]; detail: string; keep: string | null }
export interface CheckReport { images: number; measured: number; counts: Record<string, number>; findings: Finding[] }

export type Caption = Schemas["CaptionView"];

export const base = (name: string) => `/api/tagpilot/datasets/${encodeURIComponent(name)}`;
/** `version` (the file's mtime) makes a new URL once the image changes (a crop), past the browser's cache. */
export const imageUrl = (name: string, image: string, what: "file" | "thumb", size = 256, version?: number | null) =>
  `${base(name)}/images/${encodeURIComponent(image)}/${what}` + (what === "thumb" ? `?size=${size}` : "") +
  (version ? `${what === "thumb" ? "&" : "?"}v=${version}` : "");

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
