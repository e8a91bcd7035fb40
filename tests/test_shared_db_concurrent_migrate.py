"""Several processes opening the same new database at once apply each schema step exactly once."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
from lorapilot.kit.db import connect, migrate
conn = connect(sys.argv[1])
migrate(conn, ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y INTEGER);\nINSERT INTO a VALUES (1);"])
print(conn.execute("SELECT COUNT(*) FROM a").fetchone()[0])
"""


def test_concurrent_first_opens_migrate_once(tmp_path):
    db = tmp_path / "new.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    assert {out.strip() for out, _ in results} == {"1"}


OPENER = r"""
import sys, time
from pathlib import Path
from lorapilot.kit.db import connect
folder, start = Path(sys.argv[1]), Path(sys.argv[2])
while not start.exists():
    time.sleep(0.001)
for i in range(100):  # each a brand-new file, opened by every process at the same moment
    conn = connect(folder / f"{i}.db")
    conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
"""


def test_processes_opening_new_databases_at_once_all_get_wal(tmp_path):
    """A fresh file switched to WAL by several processes at once: SQLite may answer "database is locked"
    without waiting on the busy timeout; every opener must still succeed."""
    start = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", OPENER, str(tmp_path), str(start)], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    start.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [e[-600:] for e in errors if e]
    import sqlite3

    for i in range(100):
        conn = sqlite3.connect(tmp_path / f"{i}.db")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 6
        conn.close()
