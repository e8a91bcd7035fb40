import { Suspense, useEffect, useState } from "react";
import { post } from "../api/client";
import { useConnectionState } from "../api/events";
import type { SessionInfo } from "../api/types";
import { pageFor, pages } from "../pages/registry";
import { Link, subpath, useLocation } from "../router";
import { DrawerDock } from "./DrawerDock";
import { ErrorBoundary } from "./ErrorBoundary";
import { TasksMenu } from "./TasksMenu";

/** The navigation frame every page plugs into (see web/README.md). */
export function Frame({ session, onLoggedOut }: { session: SessionInfo; onLoggedOut: () => void }) {
  const { path } = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const connection = useConnectionState();
  const page = pageFor(path);
  const Page = page?.component;
  const sub = page ? subpath(page.path, path) : "";

  useEffect(() => {
    document.title = page ? `${page.title} · ControlPilot` : "ControlPilot";
    setMenuOpen(false);
  }, [page, path]);

  const logout = async () => {
    await post("/api/auth/logout").catch(() => undefined);
    onLoggedOut();
  };

  return (
    <div className="frame">
      <header className="topbar">
        <button
          type="button"
          className="menu-toggle"
          aria-label="Menu"
          aria-expanded={menuOpen}
          onClick={() => setMenuOpen((o) => !o)}
        >
          ☰
        </button>
        <Link to="/" className="brand">
          ControlPilot
        </Link>
        <span className={`live ${connection}`} title={`live updates: ${connection}`} data-testid="live" />
        <TasksMenu />
        <DrawerDock />
        {session.auth_required && (
          <button type="button" className="ghost logout" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <nav className={`sidenav${menuOpen ? " open" : ""}`} aria-label="Pages">
        {pages
          .filter((p) => p.nav !== false)
          .map((p) => (
            <Link key={p.path} to={p.path} className={p === page ? "active" : undefined} aria-current={p === page ? "page" : undefined}>
              {p.icon && <span className="icon" aria-hidden="true">{p.icon}</span>}
              {p.title}
            </Link>
          ))}
      </nav>
      <main className="content">
        <ErrorBoundary key={page?.path ?? "none"}>
          <Suspense fallback={<p className="muted">Loading…</p>}>
            {Page ? (
              <Page subpath={sub} />
            ) : (
              <div className="page">
                <h1>Not found</h1>
                <p>
                  No page at <code>{path}</code>. <Link to="/">Back to the dashboard</Link>
                </p>
              </div>
            )}
          </Suspense>
        </ErrorBoundary>
      </main>
    </div>
  );
}
