#!/usr/bin/env python3
"""ControlPilot performance figures, each beside its target and a baseline from the same run.

1. GET /api/services with 10 real services under supervisord, 50 concurrent clients on
   loopback (ControlPilot served by `lorapilot controlpilot serve` in its own process).
   Baseline: asking the process manager directly per request (ServiceManager.status(),
   what the endpoint would cost without ControlPilot's background snapshot), and
   GET /api/health (the server's floor).  Target: median < 10 ms, p99 < 25 ms.
   Also logged in with a session cookie (one SQLite read by primary key per request)
   beside the same requests with an API token, and the auth check alone, in process.
2. The web UI bundle, gzipped: everything under static/assets, and what the dashboard
   loads first.  Target: < 300 KB.  Baseline: an empty React app built by the same Vite.
3. First dashboard render in headless Chromium: navigation start -> every service card
   on screen (logged in), with an empty cache and after a reload.  Target: < 1 s.
   Baseline: the login page's first contentful paint.

Run: .venv/bin/python bench/controlpilot_bench.py [--requests-per-client 40] [--only services|bundle|render]
(needs the built web UI and /usr/bin/chromium for parts 2 and 3).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

SERVICES = 10
CLIENTS = 50

_WEB_COMPONENT = """\
name = "{name}"
title = "Web {index:02d}"
description = "A small HTTP server standing in for a UI (benchmark only)."
category = "dev"
port = {port}

[run]
command = ["{{lorapilot_python}}", "-m", "http.server", "{{port}}", "--bind", "{{host}}"]

[probe]
http = "/"
status = 200
initial_delay_s = 1
period_s = 2

[source]
type = "builtin"
"""


def bench_components(dest: Path) -> Path:
    """ControlPilot plus 9 small real HTTP servers: 10 services (on free ports)."""
    from support.workspaces import free_port

    shutil.copytree(REPO / "components" / "controlpilot", dest / "controlpilot")
    for i in range(1, SERVICES):
        folder = dest / f"web{i:02d}"
        folder.mkdir(parents=True)
        (folder / "component.toml").write_text(_WEB_COMPONENT.format(name=f"web{i:02d}", index=i, port=free_port()))
    return dest


def percentiles(samples_ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples_ms)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered), p99, ordered[-1]


async def _hammer(url: str, headers: dict, clients: int, per_client: int, period_s: float | None = None) -> list[float]:
    """``clients`` concurrent clients, each sending ``per_client`` requests: back to back
    (closed loop, ``period_s`` None) or one every ``period_s`` seconds (open loop)."""
    import httpx

    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=30) as http:
        await http.get(url)  # warm up

        async def client(offset: float) -> None:
            begin = time.perf_counter() + offset
            for k in range(per_client):
                if period_s is not None:
                    await asyncio.sleep(max(0.0, begin + k * period_s - time.perf_counter()))
                start = time.perf_counter()
                resp = await http.get(url)
                latencies.append((time.perf_counter() - start) * 1000)
                if resp.status_code != 200:
                    raise SystemExit(f"{url} answered {resp.status_code}: {resp.text[:200]}")

        step = (period_s or 0) / clients
        await asyncio.gather(*(client(i * step) for i in range(clients)))
    return latencies


def _direct_status(ctx, clients: int, per_client: int) -> list[float]:
    from lorapilot.stack.services import get_manager

    manager = get_manager(ctx)
    latencies: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(per_client):
            start = time.perf_counter()
            manager.status()
            with lock:
                latencies.append((time.perf_counter() - start) * 1000)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def _row(name: str, samples: list[float], target: str = "") -> str:
    median, p99, worst = percentiles(samples)
    return f"  {name:<46} {len(samples):>6} {median:>9.2f} {p99:>9.2f} {worst:>9.2f}   {target}"


def bench_services(per_client: int, keep: Path) -> str | None:
    from support.api import api_token
    from support.running import running, wait_for
    from support.workspaces import free_port, make_workspace

    os.environ["LORAPILOT_COMPONENTS"] = str(bench_components(keep / "components"))
    ctx = make_workspace(keep / "ws", settings={"controlpilot": {"auth": "always"}})
    with running(ctx):
        from lorapilot.stack.services import get_manager

        wait_for(lambda: all(s.ready for s in get_manager(ctx).status()), timeout=120, what="10 services ready")
        port = free_port()
        env = dict(os.environ, LORAPILOT_MANIFEST=str(ctx.manifest.path))
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lorapilot",
                "controlpilot",
                "serve",
                "--workspace",
                str(ctx.workspace.root),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            import httpx

            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(httpx, base), timeout=30, what="ControlPilot up")
            headers = {"Authorization": f"Bearer {api_token(ctx, 'bench')}"}
            count = len(httpx.get(base + "/api/services", headers=headers).json()["services"])
            print(f"\n1. GET /api/services: {count} services running under supervisord, {CLIENTS} concurrent clients")
            print(f"  {'':<46} {'reqs':>6} {'median ms':>9} {'p99 ms':>9} {'max ms':>9}   target")
            # Closed loop: every client sends its next request as soon as the last answers,
            # so latency = queueing behind the other 49 (= 50 / throughput).
            ours = asyncio.run(_hammer(base + "/api/services", headers, CLIENTS, per_client))
            start = time.perf_counter()
            asyncio.run(_hammer(base + "/api/services", headers, CLIENTS, per_client))
            rps = CLIENTS * per_client / (time.perf_counter() - start)
            floor = asyncio.run(_hammer(base + "/api/health", {}, CLIENTS, per_client))
            # Open loop: 50 dashboards each asking 5 times a second (250 requests/s in all).
            paced = asyncio.run(_hammer(base + "/api/services", headers, CLIENTS, per_client, period_s=0.2))
            paced_floor = asyncio.run(_hammer(base + "/api/health", {}, CLIENTS, per_client, period_s=0.2))
            direct = _direct_status(ctx, CLIENTS, max(1, per_client // 10))
            cookie = {"Cookie": f"lorapilot_session={_login_cookie(httpx, base, ctx)}"}
            ours_cookie = asyncio.run(_hammer(base + "/api/services", cookie, CLIENTS, per_client))
            single_cookie = asyncio.run(_hammer(base + "/api/services", cookie, 1, 300))
            single = asyncio.run(_hammer(base + "/api/services", headers, 1, 300))
            single_floor = asyncio.run(_hammer(base + "/api/health", {}, 1, 300))
            print(_row("one client: GET /api/services (service time)", single))
            print(_row("  baseline: GET /api/health", single_floor))
            print(_row("  logged in with a session cookie (SQLite)", single_cookie))
            print(_row("closed loop: GET /api/services", ours, "median < 10, p99 < 25"))
            print(_row("  logged in with a session cookie (SQLite)", ours_cookie, "median < 10, p99 < 25"))
            print(_row("  baseline: GET /api/health (server floor)", floor))
            print(_row("  baseline: ServiceManager.status() direct", direct))
            print(_row("open loop, 5 req/s per client: /api/services", paced, "median < 10, p99 < 25"))
            print(_row("  baseline: GET /api/health", paced_floor))
            print(
                f"  throughput, closed loop: {rps:.0f} requests/s (server: {_server_stack()}; "
                f"{os.cpu_count()} CPUs shared with the load generator; load average {os.getloadavg()[0]:.1f})"
            )
            verdicts = [
                (label, *percentiles(samples)[:2])
                for label, samples in (("closed loop, httpx", ours), ("open loop, httpx", paced))
            ]
            wrk_cookie = _wrk(base + "/api/services", cookie, CLIENTS)
            wrk = _wrk(base + "/api/services", headers, CLIENTS)
            wrk_floor = _wrk(base + "/api/health", {}, CLIENTS)
            if wrk and wrk_floor:
                print(f"  closed loop, wrk (C load generator), {CLIENTS} connections, 10 s:")
                print(f"    GET /api/services   median {wrk[0]:.2f} ms, p99 {wrk[1]:.2f} ms, {wrk[2]:.0f} requests/s")
                print(
                    f"    same, session cookie median {wrk_cookie[0]:.2f} ms, p99 {wrk_cookie[1]:.2f} ms, {wrk_cookie[2]:.0f} requests/s"
                )
                print(
                    f"    baseline /api/health median {wrk_floor[0]:.2f} ms, p99 {wrk_floor[1]:.2f} ms, {wrk_floor[2]:.0f} requests/s"
                )
                verdicts.insert(0, ("closed loop, wrk", wrk[0], wrk[1]))
            else:
                print("  (install Debian's wrk for the closed-loop figure without a Python load generator)")
            for label, median, p99 in verdicts:
                verdict = "MET" if median < 10 and p99 < 25 else "NOT MET"
                print(f"  services endpoint target, {label}: {verdict} (median {median:.2f} ms, p99 {p99:.2f} ms)")
        finally:
            server.terminate()
            server.wait(15)
    return None


def bench_auth_check(keep: Path, rounds: int = 20000) -> None:
    """The cost of recognising one request, in process: session cookie (SQLite) beside API token."""
    from starlette.requests import Request

    from lorapilot.controlpilot.app import create_app
    from lorapilot.controlpilot.tokens import TokenStore
    from lorapilot.stack.workspace.secrets import set_secret
    from support.workspaces import make_workspace

    ctx = make_workspace(keep / "auth-ws", settings={"controlpilot": {"auth": "always"}})
    set_secret(ctx.workspace.secrets_file, "CONTROLPILOT_PASSWORD", "bench-password")
    auth = create_app(ctx).state.auth
    cookie, _ = auth.issue_session("bench", "127.0.0.1")
    token = TokenStore(ctx.workspace).create("bench")[1]
    time.sleep(2.1)  # files written within 2 s are re-read on every call (filecache: racy mtimes)

    def per_call_us(header: tuple[bytes, bytes]) -> float:
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [header]}
        assert auth.identify(Request(scope)) is not None
        start = time.perf_counter()
        for _ in range(rounds):
            auth.identify(Request(scope))
        return (time.perf_counter() - start) / rounds * 1e6

    session_us = per_call_us((b"cookie", f"lorapilot_session={cookie}".encode()))
    token_us = per_call_us((b"authorization", f"Bearer {token}".encode()))
    print(f"\n0. Recognising a request, in process ({rounds} calls each):")
    print(f"  session cookie (SQLite, primary key): {session_us:.1f} us per request")
    print(f"  baseline: API token (hash in memory): {token_us:.1f} us per request")


def _login_cookie(httpx, base: str, ctx) -> str:
    """Log in as a browser would; the session cookie's value."""
    from lorapilot.stack.workspace.secrets import read_secrets

    password = read_secrets(ctx.workspace.secrets_file)["CONTROLPILOT_PASSWORD"]
    return (
        httpx.post(base + "/api/auth/login", json={"password": password})
        .raise_for_status()
        .cookies["lorapilot_session"]
    )


def _wrk(url: str, headers: dict, clients: int, seconds: int = 10) -> tuple[float, float, float] | None:
    """Closed loop with wrk (a C load generator: it leaves the server most of the CPU).

    Returns (median ms, p99 ms, requests/s), or None when Debian's ``wrk`` is not installed.
    """
    if shutil.which("wrk") is None:
        return None
    argv = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", url]
    for key, value in headers.items():
        argv[1:1] = ["-H", f"{key}: {value}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value = out.split(f"{label}%", 1)[1].split()[0]
        for unit, factor in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
            if value.endswith(unit):
                return float(value[: -len(unit)]) * factor
        raise ValueError(value)

    rps = float(out.split("Requests/sec:", 1)[1].split()[0])
    return ms("50"), ms("99"), rps


def _server_stack() -> str:
    import importlib.util

    parts = [f"uvicorn, {'httptools' if importlib.util.find_spec('httptools') else 'h11'} parser"]
    parts.append("uvloop" if importlib.util.find_spec("uvloop") else "asyncio loop")
    return ", ".join(parts)


def _answers(httpx, base: str) -> bool:
    try:
        return httpx.get(base + "/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def bench_bundle() -> None:
    from lorapilot.controlpilot.webapp import STATIC_DIR, web_built

    print("\n2. Web UI bundle (gzip -9 of each file)")
    if not web_built():
        print(f"  skipped: the web UI is not built in {STATIC_DIR}")
        return
    assets = sorted((STATIC_DIR / "assets").iterdir())
    sizes = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in assets}
    index_html = (STATIC_DIR / "index.html").read_text()
    first = [n for n in sizes if n in index_html or n.startswith("Dashboard-")]
    total, initial = sum(sizes.values()), sum(sizes[n] for n in first)
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<40} {size / 1024:>8.1f} KB")
    print(
        f"  {'all assets':<40} {total / 1024:>8.1f} KB   target < 300 KB: {'MET' if total < 300 * 1024 else 'NOT MET'}"
    )
    print(f"  {'dashboard first load (entry + css + page)':<40} {initial / 1024:>8.1f} KB")
    floor = _empty_react_app_size()
    if floor is None:
        print("  (baseline skipped: node or the web UI's node_modules are missing)")
    else:
        print(f"  {'baseline: an empty React app, same Vite':<40} {floor / 1024:>8.1f} KB   (the framework's floor)")


_EMPTY_APP = {
    "index.html": '<!doctype html><html><body><div id="root"></div><script type="module" src="./main.js"></script></body></html>',
    "main.js": 'import { createElement } from "react";\nimport { createRoot } from "react-dom/client";\n'
    'createRoot(document.getElementById("root")).render(createElement("p", null, "hello"));\n',
}


def _empty_react_app_size() -> int | None:
    """Gzipped size of a React 19 'hello' page built now by the web UI's own Vite and React."""
    from lorapilot.controlpilot.webapp import WEB_DIR

    vite = WEB_DIR / "node_modules" / "vite" / "bin" / "vite.js"
    if shutil.which("node") is None or not vite.is_file():
        return None
    # Inside web/ so that node resolves react from web/node_modules; removed afterwards.
    with tempfile.TemporaryDirectory(prefix=".bench-baseline-", dir=WEB_DIR) as tmp:
        for name, text in _EMPTY_APP.items():
            Path(tmp, name).write_text(text)
        out = Path(tmp) / "dist"
        subprocess.run(
            ["node", str(vite), "build", tmp, "--outDir", str(out), "--logLevel", "error"], check=True, cwd=WEB_DIR
        )
        return sum(len(gzip.compress(p.read_bytes(), 9)) for p in (out / "assets").iterdir())


def bench_render(runs: int, keep: Path) -> None:
    print("\n3. First dashboard render in headless Chromium (navigation start -> all service cards shown)")
    from support.browser import CHROMIUM, CHROMIUM_ARGS, live_controlpilot
    from support.workspaces import make_workspace

    if not os.path.exists(CHROMIUM):
        print(f"  skipped: {CHROMIUM} not found")
        return
    from playwright.sync_api import sync_playwright

    os.environ.pop("LORAPILOT_COMPONENTS", None)
    ctx = make_workspace(keep / "render-ws", enabled={"controlpilot", "tensorboard"})
    cold, warm, login_paint = [], [], []
    cards = "document.querySelectorAll('[data-testid^=service-]').length >= 2"
    with live_controlpilot(ctx) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs):
            # Baseline: the login page (no session), first contentful paint.
            context = browser.new_context()
            page = context.new_page()
            page.goto(server.url + "/")
            page.get_by_label("Password").wait_for()
            login_paint.append(
                page.evaluate(
                    "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? performance.now()"
                )
            )
            context.close()
            # The dashboard, logged in (the session cookie set through the API): an empty
            # cache first, then a reload with the hashed assets cached.
            context = browser.new_context()
            if not context.request.post(server.url + "/api/auth/login", data={"password": server.password}).ok:
                raise SystemExit("bench: login failed")
            page = context.new_page()
            for target in (cold, warm):
                if target is cold:
                    page.goto(server.url + "/")
                else:
                    page.reload()
                page.wait_for_function(cards)
                target.append(page.evaluate("performance.now()"))  # ms since navigation start
            context.close()
        browser.close()
    print(f"  {'':<46} {'runs':>6} {'median ms':>9} {'max ms':>9}   target")
    print(
        f"  {'dashboard, logged in, empty cache':<46} {runs:>6} {statistics.median(cold):>9.0f} {max(cold):>9.0f}   < 1000 ms"
    )
    print(
        f"  {'dashboard, logged in, reload (cached assets)':<46} {runs:>6} {statistics.median(warm):>9.0f} {max(warm):>9.0f}   < 1000 ms"
    )
    print(
        f"  {'baseline: login page first contentful paint':<46} {runs:>6} {statistics.median(login_paint):>9.0f} {max(login_paint):>9.0f}"
    )
    print(f"  first render target: {'MET' if max(cold + warm) < 1000 else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-client", type=int, default=40)
    parser.add_argument("--render-runs", type=int, default=5)
    parser.add_argument("--only", choices=["services", "bundle", "render"], help="Run one part only.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cp-bench-") as tmp:
        keep = Path(tmp)
        if args.only in (None, "services"):
            bench_auth_check(keep)
            bench_services(args.requests_per_client, keep)
        if args.only in (None, "bundle"):
            bench_bundle()
        if args.only in (None, "render"):
            bench_render(args.render_runs, keep)


if __name__ == "__main__":
    main()
