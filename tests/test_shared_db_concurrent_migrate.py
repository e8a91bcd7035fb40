"""Several processes opening the same new database at once apply each schema step exactly once."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import sys
from lorapilot.db import connect, migrate
conn = connect(sys.argv[1])
migrate(conn, ["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (y INTEGER);\nINSERT INTO a VALUES (1);"])
print(conn.execute("SELECT COUNT(*) FROM a").fetchone()[0])
"""


def test_concurrent_first_opens_migrate_once(tmp_path):
    db = tmp_path / "new.db"
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(6)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, [err for _, err in results]
    assert {out.strip() for out, _ in results} == {"1"}
