import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/media",
  title: "MediaPilot",
  order: 70,
  icon: "▤",
  component: lazy(() => import("./MediaPage")),
};
