import os
import signal
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.workspaces import REFERENCE_DIR, make_workspace  # noqa: E402


def pytest_configure(config):
    """Let Ctrl-C reach the CLIs the tests start, even when the suite itself runs in the background.

    A shell starts background jobs with SIGINT ignored, and an ignored signal stays ignored in every
    child, so the tests that press Ctrl-C on `lorapilot ... -f` would wait forever. A caught signal
    is reset to its default in a child, which then gets Python's usual KeyboardInterrupt.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    """No test reads the developer's real workspace or manifest."""
    monkeypatch.delenv("LORAPILOT_WORKSPACE", raising=False)
    monkeypatch.delenv("LORAPILOT_MANIFEST", raising=False)
    monkeypatch.delenv("LORAPILOT_PASSWORD", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def ctx(tmp_path):
    """A fresh workspace context with free ports."""
    return make_workspace(tmp_path / "ws")


@pytest.fixture
def reference_dir():
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"upstream reference data not found at {REFERENCE_DIR}")
    return REFERENCE_DIR


@pytest.fixture
def output_dir(request):
    """A per-test folder under test-output/ for screenshots and other artefacts."""
    root = Path(os.environ.get("LORAPILOT_TEST_OUTPUT", Path(__file__).resolve().parents[1] / "test-output"))
    path = root / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def pytest_sessionfinish(session, exitstatus):
    """Let automatic test grids still rendering (a thread waiting on its child process) end with the run,
    so no grid process outlives the suite."""
    for thread in threading.enumerate():
        if thread.name == "trainpilot-grid":
            thread.join(timeout=600)
