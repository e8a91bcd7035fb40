import { Suspense, useEffect, useState } from "react";
import { drawers } from "../drawers/registry";
import { ErrorBoundary } from "./ErrorBoundary";
import "./drawers.css";

const STORAGE_KEY = "lp:drawer";

/** The top bar's drawer buttons and the open drawer (one at a time), on every page. */
export function DrawerDock() {
  const [openId, setOpenId] = useState<string | null>(() => sessionStorage.getItem(STORAGE_KEY));
  const open = drawers.find((d) => d.id === openId);

  useEffect(() => {
    if (openId) sessionStorage.setItem(STORAGE_KEY, openId);
    else sessionStorage.removeItem(STORAGE_KEY);
  }, [openId]);

  useEffect(() => {
    if (!openId) return;
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpenId(null);
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [openId]);

  if (!drawers.length) return null;
  const Drawer = open?.component;
  return (
    <div className="drawer-dock">
      {drawers.map((d) => (
        <button
          key={d.id}
          type="button"
          className={`ghost drawer-toggle${d.id === openId ? " active" : ""}`}
          aria-label={d.title}
          aria-expanded={d.id === openId}
          title={d.title}
          onClick={() => setOpenId((current) => (current === d.id ? null : d.id))}
        >
          <span aria-hidden="true">{d.icon}</span> <span className="drawer-toggle-label">{d.title}</span>
        </button>
      ))}
      {open && Drawer && (
        <aside className="drawer" role="dialog" aria-label={open.title} data-testid={`drawer-${open.id}`}>
          <ErrorBoundary key={open.id}>
            <Suspense fallback={<p className="muted drawer-body">Loading…</p>}>
              <Drawer onClose={() => setOpenId(null)} />
            </Suspense>
          </ErrorBoundary>
        </aside>
      )}
    </div>
  );
}
