"""Under a real supervisord: a hung service (its probe fails for its threshold) is restarted, a
crash-looping service that supervisord marked FATAL recovers after a backoff, and the status
(what the dashboard shows) says why each restart happened."""

from __future__ import annotations

import json

import pytest

from support.running import lorapilot, running, wait_for
from support.workspaces import make_workspace

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

# A service that serves /health until the file `hang` appears (then it stops answering but keeps
# running: a hang, which only a probe can see), and exits at once while the file `crash` exists.
FLAKY = r"""
import http.server, os, sys, threading, time
control, port = sys.argv[1], int(sys.argv[2])
if os.path.exists(os.path.join(control, "crash")):
    print("flaky: crashing on purpose", flush=True)
    sys.exit(3)
hung = threading.Event()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if hung.is_set():
            time.sleep(3600)
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
def watch():
    while True:
        path = os.path.join(control, "hang")
        if os.path.exists(path):
            os.unlink(path)
            print("flaky: hanging on purpose", flush=True)
            hung.set()
        time.sleep(0.1)
threading.Thread(target=watch, daemon=True).start()
print(f"flaky: serving on {port}", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

COMPONENT = """
name = "flaky"
title = "Flaky test service"
description = "Hangs or crashes on request (tests of the watchdog)."
category = "dev"
port = 4455

[run]
command = ["{{lorapilot_python}}", "{script}", "{control}", "{{port}}"]

[probe]
http = "/health"
status = 200
initial_delay_s = 0
period_s = 1
timeout_s = 1
failure_threshold = 3

[restart]
backoff_s = 1
max_restarts = 2

[source]
type = "builtin"
"""


@pytest.fixture
def flaky(tmp_path, monkeypatch):
    control = tmp_path / "control"
    control.mkdir()
    script = tmp_path / "flaky.py"
    script.write_text(FLAKY)
    components = tmp_path / "components"
    (components / "flaky").mkdir(parents=True)
    (components / "flaky" / "component.toml").write_text(COMPONENT.format(script=script, control=control))
    monkeypatch.setenv("LORAPILOT_COMPONENTS", str(components))
    ctx = make_workspace(tmp_path / "ws")
    return ctx, control


def _flaky(ctx) -> dict:
    return {s["name"]: s for s in json.loads(lorapilot(ctx, "status", "--json").stdout)}["flaky"]


def test_a_hung_service_is_restarted_and_the_reason_shown(flaky):
    ctx, control = flaky
    with running(ctx):
        first = wait_for(lambda: (s := _flaky(ctx))["ready"] and s, what="flaky ready")
        (control / "hang").touch()
        restarted = wait_for(
            lambda: (s := _flaky(ctx))["pid"] not in (None, first["pid"]) and s["ready"] and s,
            timeout=60,
            what="the hung service restarted",
        )
        assert "liveness" in restarted["restart_reason"] and "failed 3 times" in restarted["restart_reason"]
        assert restarted["restarted_at"] > 0

        # The dashboard's card says why (headless Chromium).
        from support.browser import browser_page, live_controlpilot, login

        with live_controlpilot(ctx) as server, browser_page() as page:
            login(page, server)
            reason = page.get_by_test_id("service-flaky").get_by_test_id("restart-reason")
            reason.wait_for(timeout=30_000)
            assert "liveness" in reason.inner_text()


def test_a_crash_loop_backs_off_and_recovers_instead_of_staying_fatal(flaky):
    ctx, control = flaky
    (control / "crash").touch()
    with running(ctx):
        failed = wait_for(
            lambda: (s := _flaky(ctx))["state"] == "failed" and s, timeout=60, what="supervisord giving up (FATAL)"
        )
        assert "gave up" in failed["restart_reason"]
        (control / "crash").unlink()
        recovered = wait_for(
            lambda: (s := _flaky(ctx))["state"] == "running" and s["ready"] and s,
            timeout=90,
            what="the crash-looping service recovered",
        )
        assert "crash loop" in recovered["restart_reason"]
        log = (ctx.workspace.logs / "restarts.jsonl").read_text()
        assert "crash loop" in log
