import type { ComponentType, LazyExoticComponent } from "react";

/** What a drawer component receives. */
export interface DrawerProps {
  /** Close the drawer (the dock also closes it on Escape). */
  onClose: () => void;
}

/**
 * A side drawer reachable from every page: exported as `drawer` from
 * `src/drawers/<folder>/drawer.ts`. The frame's dock shows one button per drawer.
 */
export interface DrawerDef {
  /** A stable id (also kept in sessionStorage while the drawer is open). */
  id: string;
  /** The button's accessible name and the drawer's title. */
  title: string;
  /** A short symbol on the button. */
  icon: string;
  /** Position among the dock's buttons (lower first). */
  order: number;
  /** The drawer's content, lazy-loaded so it costs nothing until opened. */
  component: LazyExoticComponent<ComponentType<DrawerProps>>;
}
