import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/datasets",
  title: "TagPilot",
  order: 45,
  icon: "▤",
  component: lazy(() => import("./TagPilotPage")),
};
