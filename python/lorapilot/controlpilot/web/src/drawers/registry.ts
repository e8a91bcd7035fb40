// The drawer registry: every `src/drawers/<folder>/drawer.ts` that exports
// `drawer: DrawerDef` gets a button in the top bar (see components/DrawerDock.tsx).
// Like the page registry, adding a drawer never edits this file.

import type { DrawerDef } from "./types";

const modules = import.meta.glob<{ drawer: DrawerDef }>("./*/drawer.ts", { eager: true });

export const drawers: DrawerDef[] = Object.entries(modules)
  .map(([file, mod]) => {
    if (!mod.drawer) throw new Error(`${file} must export \`drawer\``);
    return mod.drawer;
  })
  .sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));
