import { lazy } from "react";
import { redirectOldPath } from "../../router";
import type { PageDef } from "../types";

// Links of the form "#/trainpilot/new?dataset=x" (or the older "#/train/...") land here as a path.
if (window.location.hash.startsWith("#/train")) {
  window.history.replaceState(null, "", window.location.hash.slice(1));
}
redirectOldPath("/train", "/trainpilot");

export const page: PageDef = {
  path: "/trainpilot",
  title: "TrainPilot",
  order: 50,
  icon: "▲",
  component: lazy(() => import("./TrainPage")),
};
