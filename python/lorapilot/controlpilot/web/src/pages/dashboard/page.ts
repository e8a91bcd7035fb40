import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/",
  title: "Dashboard",
  order: 0,
  icon: "◉",
  component: lazy(() => import("./Dashboard")),
};
