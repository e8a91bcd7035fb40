import { lazy } from "react";
import { redirectOldPath } from "../../router";
import type { PageDef } from "../types";

redirectOldPath("/datasets", "/tagpilot"); // the page's path before it took its tool's name

export const page: PageDef = {
  path: "/tagpilot",
  title: "TagPilot",
  order: 45,
  icon: "▤",
  component: lazy(() => import("./TagPilotPage")),
};
