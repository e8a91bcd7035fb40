import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/datasets",
  title: "TagPilot",
  order: 50,
  icon: "▤",
  component: lazy(() => import("./TagPilotPage")),
};
