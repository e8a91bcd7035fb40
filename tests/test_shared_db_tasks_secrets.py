"""SQLite helper, background tasks and the secrets file."""

import stat
import threading
import time

import pytest

from lorapilot.kit.db import connect, migrate, split_statements
from lorapilot.kit.errors import ConfigError
from lorapilot.kit.progress import Cancelled, check_cancel, last_cancel_point
from lorapilot.kit.tasks import TaskManager
from lorapilot.stack.workspace.secrets import delete_secret, read_secrets, set_secret


def test_migrate_applies_each_step_once_with_triggers(tmp_path):
    conn = connect(tmp_path / "x.db")
    steps = [
        "CREATE TABLE item(x);\nCREATE TABLE log(y);\nCREATE TRIGGER t AFTER INSERT ON item BEGIN\n  INSERT INTO log VALUES (new.x);\nEND;\n",
        "CREATE INDEX item_x ON item(x);",
    ]
    migrate(conn, steps)
    migrate(conn, steps)
    conn.execute("INSERT INTO item VALUES (7)")
    assert conn.execute("SELECT y FROM log").fetchone()[0] == 7
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failed_migration_rolls_back(tmp_path):
    conn = connect(tmp_path / "x.db")
    with pytest.raises(Exception):  # noqa: B017 - whatever SQLite raises, the version must not move
        migrate(conn, ["CREATE TABLE a(x);\nCREATE TABLE a(x);"])
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name='a'").fetchone()[0] == 0


def test_split_statements_refuses_incomplete_sql():
    with pytest.raises(ValueError):
        split_statements("CREATE TABLE a(x")


def test_task_runs_reports_progress_and_result():
    tasks = TaskManager()

    def work(progress, cancel):
        for i in range(3):
            progress(i + 1, 3, f"step {i}")
        return {"ok": True}

    task = tasks.submit("demo", "Demo", work)
    deadline = time.monotonic() + 5
    while task.state != "done" and time.monotonic() < deadline:
        tasks.wait_for_change(tasks.version, 0.5)
    assert task.state == "done" and task.result == {"ok": True}
    assert (task.current, task.total, task.message) == (3, 3, "step 2")


def test_task_cancel_and_failure():
    tasks = TaskManager()
    started = threading.Event()

    def slow(progress, cancel):
        started.set()
        while True:
            check_cancel(cancel)
            time.sleep(0.01)

    def broken(progress, cancel):
        raise ValueError("bad input")

    slow_task = tasks.submit("demo", "slow", slow)
    started.wait(5)
    tasks.cancel(slow_task.id)
    broken_task = tasks.submit("demo", "broken", broken)
    deadline = time.monotonic() + 5
    while (slow_task.finished_at is None or broken_task.finished_at is None) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow_task.state == "cancelled"
    assert broken_task.state == "failed" and "bad input" in broken_task.error


def _finish(task, timeout=5):
    deadline = time.monotonic() + timeout
    while task.finished_at is None and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_cancel_after_the_last_cancel_point_leaves_the_task_done():
    """Work past its point of no return (renaming finished files in) completed: it is done, not cancelled."""
    tasks = TaskManager()
    past, cancelled = threading.Event(), threading.Event()

    def committing(progress, cancel):
        last_cancel_point(cancel)
        past.set()
        cancelled.wait(5)  # the cancel arrives while the last renames run
        return "swapped in"

    task = tasks.submit("demo", "commit", committing)
    past.wait(5)
    tasks.cancel(task.id)
    cancelled.set()
    _finish(task)
    assert (task.state, task.result) == ("done", "swapped in")


def test_a_cancel_before_the_last_cancel_point_still_cancels():
    tasks = TaskManager()
    go = threading.Event()

    def committing(progress, cancel):
        go.wait(5)
        last_cancel_point(cancel)
        return "swapped in"

    task = tasks.submit("demo", "commit", committing)
    tasks.cancel(task.id)
    go.set()
    _finish(task)
    assert task.state == "cancelled" and task.result is None


def test_check_cancel():
    event = threading.Event()
    check_cancel(event)
    event.set()
    with pytest.raises(Cancelled):
        check_cancel(event)


def test_set_secret_round_trips_awkward_values(tmp_path):
    path = tmp_path / "secrets.env"
    set_secret(path, "A", 'with "quotes" and # hash = sign')
    set_secret(path, "B", "plain")
    set_secret(path, "A", "replaced \\ backslash")
    assert read_secrets(path) == {"A": "replaced \\ backslash", "B": "plain"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert delete_secret(path, "A") and read_secrets(path) == {"B": "plain"}


def test_bad_secret_names_and_lines(tmp_path):
    path = tmp_path / "secrets.env"
    with pytest.raises(ConfigError):
        set_secret(path, "lower", "x")
    with pytest.raises(ConfigError):
        set_secret(path, "A", "two\nlines")
    path.write_text("GOOD=1\nthis is not a pair\n")
    with pytest.raises(ConfigError, match="line 2"):
        read_secrets(path)
