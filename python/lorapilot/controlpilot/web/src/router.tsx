// A tiny history-API router: enough for a handful of pages, no dependency.

import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

const NAVIGATE = "lp:navigate";

function subscribe(cb: () => void): () => void {
  window.addEventListener("popstate", cb);
  window.addEventListener(NAVIGATE, cb);
  return () => {
    window.removeEventListener("popstate", cb);
    window.removeEventListener(NAVIGATE, cb);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

/** Go to `to` (a path with optional ?query) without reloading the page. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  window.dispatchEvent(new Event(NAVIGATE));
}

export interface Location {
  path: string;
  query: URLSearchParams;
}

/** The current path and query; re-renders on navigation. */
export function useLocation(): Location {
  const href = useSyncExternalStore(subscribe, snapshot);
  const [path, search = ""] = href.split("?");
  return { path, query: new URLSearchParams(search) };
}

/** Set one query parameter (undefined removes it), keeping the path. */
export function setQuery(key: string, value: string | undefined, options: { replace?: boolean } = {}): void {
  const query = new URLSearchParams(window.location.search);
  if (value === undefined || value === "") query.delete(key);
  else query.set(key, value);
  const s = query.toString();
  navigate(window.location.pathname + (s ? `?${s}` : ""), options);
}

/** Whether `path` belongs to the page mounted at `base` ("/x" owns "/x" and "/x/..."). */
export function owns(base: string, path: string): boolean {
  if (base === "/") return path === "/";
  return path === base || path.startsWith(base + "/");
}

/** Open a page's old path at its new one (pages took their tool's name: /datasets is /tagpilot now).
 * Called at load by the page modules, so old bookmarks and links keep working for one release. */
export function redirectOldPath(oldBase: string, newBase: string): void {
  const { pathname, search, hash } = window.location;
  if (owns(oldBase, pathname)) {
    window.history.replaceState(null, "", newBase + pathname.slice(oldBase.length) + search + hash);
  }
}

/** The part of `path` after the page's base ("/services/comfyui" under "/services" -> "comfyui"). */
export function subpath(base: string, path: string): string {
  return base === "/" ? path.slice(1) : path.slice(base.length + 1);
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
