import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/models",
  title: "Models",
  order: 40,
  icon: "▦",
  component: lazy(() => import("./ModelsPage")),
};
