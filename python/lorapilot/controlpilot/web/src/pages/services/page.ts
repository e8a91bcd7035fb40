import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/services",
  title: "Services",
  order: 10,
  icon: "≡",
  component: lazy(() => import("./ServicesPage")),
};
