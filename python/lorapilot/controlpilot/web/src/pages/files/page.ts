import { lazy } from "react";
import type { PageDef } from "../types";

export const page: PageDef = {
  path: "/files",
  title: "Files",
  order: 20,
  icon: "▤",
  component: lazy(() => import("./FilesPage")),
};
