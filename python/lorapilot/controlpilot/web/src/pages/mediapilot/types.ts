// Shapes of /api/mediapilot answers: short names for the types generated from the API's schema
// (../../api/schema.ts; the models are lorapilot/tools/mediapilot/api_models.py).

import type { components } from "../../api/schema";

type Schemas = components["schemas"];

export type MediaItem = Schemas["MediaItem"];
export type SearchPage = Schemas["MediaPage"];
export type LoraInfo = Schemas["MediaLora"];
export type MediaDetail = Schemas["MediaDetail"];
export type BatchResult = Schemas["BatchResultView"];
export type TrashEntry = Schemas["MediaTrashItem"];
export type CompareResult = Schemas["CompareResult"];

export const thumbUrl = (item: Pick<MediaItem, "id" | "version">, size = 256) =>
  `/api/mediapilot/${item.id}/thumb?size=${size}&v=${item.version}`;
export const fileUrl = (item: Pick<MediaItem, "id" | "version">) => `/api/mediapilot/${item.id}/file?v=${item.version}`;
