"""Parse batches of media files in worker processes, one per core, for a large first index.

Parsing metadata is pure Python, so threads get nothing past the GIL. The workers are plain
``python -m lorapilot.tools.mediapilot.parse_pool`` child processes speaking pickles over their pipes,
not ``multiprocessing``: its spawn mode re-imports the parent's ``__main__`` (``python -m lorapilot``
would run the CLI again in every worker) and a fork from ControlPilot's threaded server copies locks that
other threads hold. A worker that fails leaves its batches to be parsed in this process: a scan never fails
because a helper did.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

MAX_WORKERS = 8
WORKER_MODULE = "lorapilot.tools.mediapilot.parse_pool"


def worker_count() -> int:
    """The cores this process may use, at most ``MAX_WORKERS``."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, MAX_WORKERS)


class _Worker:
    def __init__(self):
        package_root = str(Path(__file__).resolve().parents[3])  # the folder holding lorapilot/
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.jobs: list = []

    def feed(self) -> None:
        """Write every job, then the end mark (on its own thread: results flow back meanwhile)."""
        try:
            for job in self.jobs:
                pickle.dump(job, self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            pickle.dump(None, self.proc.stdin)
            self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the worker died or was stopped: its results will be missing and parsed in-process

    def result(self):
        return pickle.load(self.proc.stdout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass


def parse_in_workers(root, batches: list[list], workers: int, read_batch) -> Iterator[list]:
    """Rows of each batch of ``(rel, stat)``, in order, parsed by ``workers`` child processes.

    ``read_batch(root, batch)`` parses a batch here when its worker could not.
    """
    pool = [_Worker() for _ in range(workers)]
    feeders = []
    try:
        # The first batch is parsed here while the workers start (~0.2 s of interpreter and imports), so the
        # writes begin at once; the workers take the rest in turn.
        for i, batch in enumerate(batches[1:]):
            pool[i % workers].jobs.append((root, batch))
        for worker in pool:
            feeder = threading.Thread(target=worker.feed, name="mediapilot-parse-feed", daemon=True)
            feeder.start()
            feeders.append(feeder)
        broken: set[int] = set()
        if batches:
            yield read_batch(root, batches[0])
        for i, batch in enumerate(batches[1:]):
            w = i % workers
            rows = None
            if w not in broken:
                try:
                    rows = pool[w].result()
                except (EOFError, OSError, pickle.UnpicklingError):
                    broken.add(w)
            yield rows if rows is not None else read_batch(root, batch)
    finally:
        for worker in pool:
            worker.stop()
        for feeder in feeders:
            feeder.join(timeout=5)


def _serve() -> None:
    """Worker side: read ``(root, batch)`` jobs from stdin until the end mark, write the rows to stdout."""
    from lorapilot.tools.mediapilot.scan import read_batch

    jobs, results = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # anything printed by accident must not corrupt the pickle stream
    while True:
        job = pickle.load(jobs)
        if job is None:
            return
        root, batch = job
        pickle.dump(read_batch(root, batch), results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()


if __name__ == "__main__":
    _serve()
