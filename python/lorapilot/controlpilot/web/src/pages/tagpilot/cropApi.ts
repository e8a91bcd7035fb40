// The crop routes (models in lorapilot/tools/tagpilot/crop_api.py) and the crop geometry the editor previews.
// The server recomputes and checks every box; this mirror only draws what a click will give.

import { api, get, post } from "../../api/client";
import type { components } from "../../api/schema";
import type { Task } from "../../api/types";
import { base } from "./api";

type Schemas = components["schemas"];
export type CropState = Schemas["CropStateView"];
export type CropBox = Schemas["CropBox"];
export type AspectPreset = Schemas["AspectPreset"];
export interface Focus { x: number; y: number }

const cropUrl = (name: string, image: string) => `${base(name)}/images/${encodeURIComponent(image)}/crop`;
export const originalUrl = (name: string, image: string, version: string | number) =>
  `${base(name)}/images/${encodeURIComponent(image)}/original?v=${version}`;
export const getCrop = (name: string, image: string) => get<CropState>(cropUrl(name, image));
export const saveCrop = (name: string, image: string, body: { aspect: string; focus?: Focus; box?: CropBox }) =>
  api<CropState>("PUT", cropUrl(name, image), body);
export const resetCrop = (name: string, image: string) => api<CropState>("DELETE", cropUrl(name, image));
export const bulkCrop = (name: string, aspect: string, images: string[]) => post<Task>(`${base(name)}/crop`, { aspect, images });
export const aspectsUrl = "/api/tagpilot/crop-aspects";

const place = (centre: number, size: number, limit: number) => Math.min(Math.max(Math.round(centre - size / 2), 0), limit - size);

/** The largest box of the aspect (w:h; 0:0 = free keeps `current`'s size) centred on `focus`, inside the image. */
export function boxAround(width: number, height: number, preset: AspectPreset | undefined, focus: Focus, current: CropBox): CropBox {
  let w = current.width;
  let h = current.height;
  if (preset && preset.width > 0) {
    if (width * preset.height >= height * preset.width) {
      h = height;
      w = Math.max(1, Math.min(width, Math.round((height * preset.width) / preset.height)));
    } else {
      w = width;
      h = Math.max(1, Math.min(height, Math.round((width * preset.height) / preset.width)));
    }
  }
  return { x: place(focus.x * width, w, width), y: place(focus.y * height, h, height), width: w, height: h };
}

/** `box` resized from its top-left corner to width `w` (height too for free), kept in the image and the aspect. */
export function resizeBox(box: CropBox, w: number, h: number, width: number, height: number, preset: AspectPreset | undefined): CropBox {
  const maxW = width - box.x;
  const maxH = height - box.y;
  if (!preset || preset.width === 0) {
    return { ...box, width: Math.round(Math.min(Math.max(w, 8), maxW)), height: Math.round(Math.min(Math.max(h, 8), maxH)) };
  }
  const ratio = preset.width / preset.height;
  let nw = Math.min(Math.max(w, 8), maxW, maxH * ratio);
  let nh = Math.round(nw / ratio);
  nw = Math.round(nw);
  if (nh > maxH) { nh = maxH; nw = Math.round(nh * ratio); }
  return { ...box, width: Math.max(1, nw), height: Math.max(1, nh) };
}
