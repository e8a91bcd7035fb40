import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/sessions",
  title: "Sessions",
  order: 90,
  icon: "◇",
  component: lazy(() => import("./SessionsPage")),
};
