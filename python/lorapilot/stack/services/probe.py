"""Readiness checks for backends that have none of their own (supervisord)."""

from __future__ import annotations

import subprocess

import httpx

from lorapilot.stack.plan import ProcessPlan

# One client for every probe: probes are plain HTTP on loopback, so no TLS
# context (loading the CA bundle per request is slow) and no connection reuse.
_client = httpx.Client(verify=False, follow_redirects=False, limits=httpx.Limits(max_keepalive_connections=0))


def check_ready(plan: ProcessPlan, timeout: float = 1.5) -> bool | None:
    """Run the component's probe once; None when it has no probe."""
    if plan.probe is None:
        return None
    if plan.probe_url is not None:
        try:
            resp = _client.get(plan.probe_url, timeout=timeout)
        except httpx.HTTPError:
            return False
        if plan.probe.status is not None:
            return resp.status_code == plan.probe.status
        return resp.status_code < 400
    try:
        result = subprocess.run(
            plan.probe_exec or [],
            cwd=plan.cwd,
            capture_output=True,
            timeout=max(timeout, plan.probe.timeout_s),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0
