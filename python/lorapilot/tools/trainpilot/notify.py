"""What happens around jobs: a webhook when one ends (JSON, Discord or ntfy), and the optional
"stop the machine once the queue is empty" command. Both come from ``[trainpilot]`` in
``config/lorapilot.toml``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading

from lorapilot.stack.settings import TrainPilotSettings

from .queue import Job

log = logging.getLogger("lorapilot.tools.trainpilot")


def job_summary(job: Job) -> str:
    steps = f"{job.step}/{job.total}" if job.step is not None and job.total else "-"
    text = f"LoRA Pilot: training job {job.id} '{job.name}' ({job.trainer}, {job.family}) {job.state} at step {steps}"
    if job.state == "done" and job.final_lora:
        text += f"; LoRA: {os.path.basename(job.final_lora)}"
    if job.state == "failed" and job.error:
        text += f"; error: {job.error.splitlines()[0][:300]}"
    return text


def text_request(fmt: str, text: str, title: str) -> dict:
    """The HTTP request a webhook format sends for a plain message (e.g. "this machine stops in 5 min")."""
    if fmt == "discord":
        return {"json": {"content": text[:2000], "username": "LoRA Pilot"}}
    if fmt == "ntfy":
        return {"content": text.encode("utf-8"), "headers": {"Title": title, "Tags": "hourglass", "Priority": "high"}}
    return {"json": {"event": "machine.stop", "text": text}}


def notify_text_async(url: str, fmt: str, text: str, title: str) -> threading.Thread:
    """Send a plain message from a thread (errors are logged)."""
    import httpx

    def send():
        try:
            httpx.post(url, timeout=10, **text_request(fmt, text, title))
        except httpx.HTTPError as exc:
            log.warning("webhook %s failed: %s", fmt, exc)

    thread = threading.Thread(target=send, name="webhook-stop", daemon=True)
    thread.start()
    return thread


def webhook_request(fmt: str, job: Job) -> dict:
    """The HTTP request (``json``/``content``/``headers``) a webhook format sends for ``job``."""
    text = job_summary(job)
    if fmt == "discord":
        return {"json": {"content": text[:2000], "username": "LoRA Pilot"}}
    if fmt == "ntfy":
        tags = {"done": "white_check_mark", "failed": "x", "cancelled": "stop_sign"}.get(job.state, "robot")
        return {
            "content": text.encode("utf-8"),
            "headers": {
                "Title": f"Training {job.state}: {job.name}",
                "Tags": tags,
                "Priority": "high" if job.state == "failed" else "default",
            },
        }
    return {
        "json": {
            "event": f"job.{job.state}",
            "text": text,
            "job": {k: v for k, v in job.to_dict().items() if k != "profile"},
        }
    }


def webhook_url(settings: TrainPilotSettings, secrets: dict[str, str]) -> str:
    return settings.webhook_url or secrets.get("TRAINPILOT_WEBHOOK_URL", "")


def post_webhook(url: str, fmt: str, job: Job, timeout: float = 10.0) -> int | None:
    """POST the job's end to ``url``; returns the HTTP status (None on a network error, which is logged)."""
    import httpx

    try:
        response = httpx.post(url, timeout=timeout, **webhook_request(fmt, job))
    except httpx.HTTPError as exc:
        log.warning("webhook %s failed: %s", fmt, exc)
        return None
    if response.status_code >= 400:
        log.warning("webhook %s answered %s: %s", fmt, response.status_code, response.text[:200])
    return response.status_code


def notify_async(url: str, fmt: str, job: Job) -> threading.Thread:
    """Send the webhook from a thread so a slow endpoint never holds up the queue."""
    thread = threading.Thread(target=post_webhook, args=(url, fmt, job), name=f"webhook-{job.id}", daemon=True)
    thread.start()
    return thread


def run_stop_command(argv: list[str], log_path) -> int | None:
    """Run the configured stop command (``$VARS`` expanded, no shell); output goes to ``log_path``."""
    command = [os.path.expandvars(a) for a in argv]
    try:
        os.makedirs(os.path.dirname(log_path), exist_ok=True)  # a fresh workspace may have no logs/ yet: still stop
        with open(log_path, "ab") as out:
            out.write(f"[trainpilot] queue empty: running {command}\n".encode())
            out.flush()
            return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=300).returncode
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("stop command %s failed: %s", command, exc)
        return None
