import type { ComponentType, LazyExoticComponent } from "react";

/** What a page component receives. */
export interface PageProps {
  /** The path after the page's own path ("/services/comfyui" -> "comfyui"); "" on the page itself. */
  subpath: string;
}

/** One page of the app: exported as `page` from `src/pages/<folder>/page.ts`. */
export interface PageDef {
  /** Where it lives, e.g. "/models". The page also owns every path below it. */
  path: string;
  /** Its name in the navigation and the window title. */
  title: string;
  /** Position in the navigation (lower first). ControlPilot's own pages use 0-30. */
  order: number;
  /** A short symbol shown before the title in the navigation. */
  icon?: string;
  /** The component, lazy-loaded so each page is its own chunk. */
  component: LazyExoticComponent<ComponentType<PageProps>>;
  /** false: reachable by URL but not listed in the navigation. */
  nav?: boolean;
}
