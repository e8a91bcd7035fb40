import { lazy } from "react";
import type { DrawerDef } from "../types";

export const drawer: DrawerDef = {
  id: "copilot",
  title: "Copilot",
  icon: "✦",
  order: 10,
  component: lazy(() => import("./CopilotDrawer")),
};
