import { lazy } from "react";
import type { PageDef } from "../types";

// Links of the form "#/train/new?dataset=x" (TagPilot's "train this") land here as a path.
if (window.location.hash.startsWith("#/train")) {
  window.history.replaceState(null, "", window.location.hash.slice(1));
}

export const page: PageDef = {
  path: "/train",
  title: "TrainPilot",
  order: 50,
  icon: "▲",
  component: lazy(() => import("./TrainPage")),
};
