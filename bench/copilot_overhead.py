"""What the Copilot sidecar adds to each chat, next to running the CLI directly.

A stand-in CLI (the tests' fake ``copilot``: a Python script that echoes its
stdin) is run N times three ways, in the same run:

  direct     subprocess with the prompt on stdin (the baseline: what a shell does)
  sidecar    POST /chat to a real sidecar (HTTP, validation, process group, history row)
  proxied    POST /api/copilot/chat through ControlPilot (auth, httpx hop, then the sidecar)

and the median and 95th percentile of each are printed side by side. The real
CLI takes seconds per answer (a model call), so what matters is that the
sidecar's own share stays in milliseconds.

    .venv/bin/python bench/copilot_overhead.py [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.api import make_client  # noqa: E402
from support.copilot_sidecar import running_sidecar  # noqa: E402
from support.fake_copilot import install_fake_copilot  # noqa: E402
from support.workspaces import make_workspace  # noqa: E402

PROMPT = "why did my training run out of memory? here is the log\n" + "step 120 loss 0.08\n" * 200


def _timed(call, n: int) -> list[float]:
    call()  # warm up
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def _row(name: str, samples: list[float], baseline: float | None) -> str:
    median = statistics.median(samples)
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    extra = "" if baseline is None else f"   +{median - baseline:6.1f} ms over direct"
    return f"{name:<9} median {median:7.1f} ms   p95 {p95:7.1f} ms{extra}"


def main(n: int = 30) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_workspace(Path(tmp) / "ws", enabled={"copilot"})
        fake = install_fake_copilot(Path(tmp) / "bin")

        def direct() -> None:
            subprocess.run(
                [str(fake), "--no-color"],
                input=PROMPT,
                capture_output=True,
                text=True,
                check=True,
                cwd=ctx.workspace.root,
            )

        with running_sidecar(ctx, bin_dir=Path(tmp) / "bin") as sc, sc.client() as client:
            api = make_client(ctx)

            def via_sidecar() -> None:
                assert client.post("/chat", json={"prompt": PROMPT}).json()["status"] == "ok"

            def via_proxy() -> None:
                assert api.post("/api/copilot/chat", json={"prompt": PROMPT}).json()["status"] == "ok"

            results = {"direct": _timed(direct, n), "sidecar": _timed(via_sidecar, n), "proxied": _timed(via_proxy, n)}
    base = statistics.median(results["direct"])
    print(f"Copilot sidecar overhead, {n} chats each, prompt {len(PROMPT)} chars, stand-in CLI")
    for name, samples in results.items():
        print(_row(name, samples, None if name == "direct" else base))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
