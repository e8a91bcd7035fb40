import { lazy } from "react";
import { redirectOldPath } from "../../router";
import type { PageDef } from "../types";

redirectOldPath("/media", "/mediapilot"); // the page's path before it took its tool's name

export const page: PageDef = {
  path: "/mediapilot",
  title: "MediaPilot",
  order: 70,
  icon: "▤",
  component: lazy(() => import("./MediaPage")),
};
