// The page registry: every `src/pages/<folder>/page.ts` that exports `page: PageDef`
// is a page of the app. Adding a page never edits this file (no merge conflicts):
// see ../../README.md, "Add a page".

import { owns } from "../router";
import type { PageDef } from "./types";

const modules = import.meta.glob<{ page: PageDef }>("./*/page.ts", { eager: true });

export const pages: PageDef[] = Object.entries(modules)
  .map(([file, mod]) => {
    if (!mod.page) throw new Error(`${file} must export \`page\``);
    return mod.page;
  })
  .sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));

/** The page that owns `path` (the longest matching base wins). */
export function pageFor(path: string): PageDef | undefined {
  let best: PageDef | undefined;
  for (const page of pages) {
    if (owns(page.path, path) && (!best || page.path.length > best.path.length)) best = page;
  }
  return best;
}
