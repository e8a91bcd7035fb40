// Shapes of the API's JSON: short names for the types generated from ControlPilot's OpenAPI schema.
// schema.ts is written by `npm run gen:types` (part of `npm run build`) from openapi.json, which
// `scripts/dump-openapi` writes from the pydantic response models; never edit either by hand
// (tests/test_web_api_types.py fails when they are stale).

import type { components } from "./schema";

type Schemas = components["schemas"];

export type Service = Schemas["ServiceView"];
export type ServiceState = Service["state"];
export type ServicesResponse = Schemas["ServicesResponse"];
export type SessionInfo = Schemas["SessionInfo"];
export type Task = Schemas["TaskView"];
export type GpuProcess = Schemas["GpuProcess"];
export type Gpu = Schemas["GpuInfo"];
export type SystemSnapshot = Schemas["SystemSnapshot"];
export type SystemHistory = Schemas["SystemHistory"];
export type FileEntry = Schemas["EntryView"];
export type Listing = Schemas["Listing"];
export type TrashItem = Schemas["TrashItemView"];
