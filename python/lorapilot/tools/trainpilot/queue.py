"""The training queue: jobs in SQLite, ``queued → running → done | failed | cancelled``.

Everything a job needs to be resumed, re-attached or reported lives in this database (and in the
job's folder), so killing the process that drives the queue loses nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lorapilot.kit.db import connect, migrate
from lorapilot.kit.errors import ConflictError, NotFoundError
from lorapilot.stack.workspace.layout import Workspace

from .profiles import Profile

STATES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")

SCHEMA = [
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        trainer TEXT NOT NULL,
        family TEXT NOT NULL,
        dataset TEXT NOT NULL,
        profile_name TEXT,
        profile TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        position REAL NOT NULL,
        run_dir TEXT NOT NULL,
        resume INTEGER NOT NULL DEFAULT 0,
        cancel_request TEXT CHECK (cancel_request IN ('save', 'kill')),
        gpu_ids TEXT NOT NULL DEFAULT '[]',
        pid INTEGER,
        pid_started REAL,
        log_offset INTEGER NOT NULL DEFAULT 0,
        step INTEGER,
        total INTEGER,
        loss REAL,
        lr REAL,
        its REAL,
        latest_sample TEXT,
        latest_checkpoint TEXT,
        final_lora TEXT,
        card TEXT,
        exit_code INTEGER,
        error TEXT,
        log_tail TEXT,
        retry_of INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX jobs_state_position ON jobs (state, position);
    CREATE TABLE points (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        loss REAL,
        lr REAL,
        its REAL,
        t REAL NOT NULL,
        PRIMARY KEY (job_id, step)
    );
    """,
]

_PROGRESS_FIELDS = ("step", "total", "loss", "lr", "its", "latest_sample", "latest_checkpoint", "log_offset")


@dataclass
class Job:
    id: int
    name: str
    trainer: str
    family: str
    dataset: str
    profile_name: str | None
    profile: dict
    state: str
    position: float
    run_dir: str
    resume: bool = False
    cancel_request: str | None = None
    gpu_ids: list[str] = field(default_factory=list)
    pid: int | None = None
    pid_started: float | None = None
    log_offset: int = 0
    step: int | None = None
    total: int | None = None
    loss: float | None = None
    lr: float | None = None
    its: float | None = None
    latest_sample: str | None = None
    latest_checkpoint: str | None = None
    final_lora: str | None = None
    card: str | None = None
    exit_code: int | None = None
    error: str | None = None
    log_tail: str | None = None
    retry_of: int | None = None
    attempts: int = 0
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0

    @classmethod
    def from_row(cls, row) -> Job:
        data = dict(row)
        data["profile"] = json.loads(data["profile"])
        data["gpu_ids"] = json.loads(data["gpu_ids"] or "[]")
        data["resume"] = bool(data["resume"])
        return cls(**data)

    def profile_model(self) -> Profile:
        return Profile.model_validate(self.profile)

    @property
    def run_path(self) -> Path:
        return Path(self.run_dir)

    @property
    def log_path(self) -> Path:
        return self.run_path / "train.log"

    @property
    def eta_s(self) -> float | None:
        if self.state != "running" or not self.its or self.step is None or not self.total:
            return None
        return max(self.total - self.step, 0) / self.its

    def to_dict(self) -> dict:
        data = asdict(self)
        data["eta_s"] = self.eta_s
        data["fraction"] = (self.step / self.total) if self.step is not None and self.total else None
        data["planned_steps"] = self.profile.get("training", {}).get("steps")
        return data


class JobStore:
    """The queue database of one workspace (``apps/trainpilot/queue.db``)."""

    def __init__(self, ws: Workspace, path: Path | None = None):
        self.ws = ws
        self.path = path or ws.state_dir("trainpilot") / "queue.db"
        self.conn = connect(self.path)
        migrate(self.conn, SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def jobs_root(self) -> Path:
        return self.ws.outputs / "trainpilot"

    # --- reading -------------------------------------------------------------------------------
    def get(self, job_id: int) -> Job:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no training job {job_id}")
        return Job.from_row(row)

    def list(self, states: tuple[str, ...] | None = None) -> list[Job]:
        """Jobs: running first, then the queue in order, then finished ones newest first."""
        rows = self.conn.execute("SELECT * FROM jobs").fetchall()
        jobs = [Job.from_row(r) for r in rows if states is None or r["state"] in states]
        rank = {"running": 0, "queued": 1}
        return sorted(
            jobs,
            key=lambda j: (
                rank.get(j.state, 2),
                j.position if j.state == "queued" else -(j.finished_at or j.created_at),
            ),
        )

    def queued(self) -> list[Job]:
        rows = self.conn.execute("SELECT * FROM jobs WHERE state = 'queued' ORDER BY position, id").fetchall()
        return [Job.from_row(r) for r in rows]

    def running(self) -> list[Job]:
        return [Job.from_row(r) for r in self.conn.execute("SELECT * FROM jobs WHERE state = 'running' ORDER BY id")]

    def points(self, job_id: int, limit: int = 2000) -> list[dict]:
        """Loss-curve points of a job, thinned evenly to at most ``limit``."""
        rows = self.conn.execute(
            "SELECT step, loss, lr, its FROM points WHERE job_id = ? ORDER BY step", (job_id,)
        ).fetchall()
        if len(rows) > limit:
            stride = len(rows) / limit
            rows = [rows[int(i * stride)] for i in range(limit - 1)] + [rows[-1]]
        return [dict(r) for r in rows]

    # --- writing -------------------------------------------------------------------------------
    def submit(self, profile: Profile, profile_name: str | None = None, retry_of: int | None = None) -> Job:
        """Queue ``profile`` at the end; its folder is ``outputs/trainpilot/<id>-<name>``."""
        now = time.time()
        with self._tx():
            position = self.conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM jobs").fetchone()[0]
            cur = self.conn.execute(
                "INSERT INTO jobs (name, trainer, family, dataset, profile_name, profile, state, position, run_dir,"
                " retry_of, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, '', ?, ?, ?)",
                (
                    profile.name,
                    profile.trainer,
                    profile.family,
                    profile.dataset.name,
                    profile_name,
                    json.dumps(profile.model_dump(mode="json")),
                    position,
                    retry_of,
                    now,
                    now,
                ),
            )
            job_id = cur.lastrowid
            run_dir = self.jobs_root() / f"{job_id:04d}-{profile.name}"
            self.conn.execute("UPDATE jobs SET run_dir = ? WHERE id = ?", (str(run_dir), job_id))
        return self.get(job_id)

    def claim(self, job_id: int, gpu_ids: list[str], log_offset: int, step: int | None = None) -> None:
        """Mark a queued job running before its process starts (a crash in between leaves a trace).

        ``step`` is where a resumed run continues; loss points past it are dropped.
        """
        now = time.time()
        with self._tx():
            n = self.conn.execute(
                "UPDATE jobs SET state = 'running', gpu_ids = ?, pid = NULL, pid_started = NULL, log_offset = ?,"
                " started_at = ?, step = ?, its = NULL, attempts = attempts + 1, exit_code = NULL, error = NULL,"
                " log_tail = NULL, updated_at = ? WHERE id = ? AND state = 'queued'",
                (json.dumps(gpu_ids), log_offset, now, step, now, job_id),
            ).rowcount
            if n == 1:
                self.conn.execute("DELETE FROM points WHERE job_id = ? AND step > ?", (job_id, step or 0))
        if n != 1:
            raise ConflictError(f"job {job_id} is no longer queued")

    def set_process(self, job_id: int, pid: int, pid_started: float) -> None:
        """Record the started job's process (its launcher: the leader of the job's process group)."""
        with self._tx():
            self.conn.execute(
                "UPDATE jobs SET pid = ?, pid_started = ?, updated_at = ? WHERE id = ? AND state = 'running'",
                (pid, pid_started, time.time(), job_id),
            )

    def update_progress(
        self, job_id: int, points: list[tuple[int, float | None, float | None, float | None]], **fields
    ) -> None:
        """Store the newest progress fields and loss points (one per step) in one transaction."""
        unknown = set(fields) - set(_PROGRESS_FIELDS)
        if unknown:
            raise ValueError(f"not progress fields: {sorted(unknown)}")
        now = time.time()
        with self._tx():
            if fields:
                sets = ", ".join(f"{k} = ?" for k in fields)
                self.conn.execute(
                    f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ?", (*fields.values(), now, job_id)
                )
            self.conn.executemany(
                "INSERT OR REPLACE INTO points (job_id, step, loss, lr, its, t) VALUES (?, ?, ?, ?, ?, ?)",
                [(job_id, step, loss, lr, its, now) for step, loss, lr, its in points],
            )

    def finish(self, job_id: int, state: str, **fields) -> Job:
        """Move a job to a final state with its result fields (error, log tail, final LoRA...)."""
        if state not in FINISHED:
            raise ValueError(state)
        allowed = {"exit_code", "error", "log_tail", "final_lora", "card", "latest_checkpoint", "latest_sample", "step"}
        if set(fields) - allowed:
            raise ValueError(f"not result fields: {sorted(set(fields) - allowed)}")
        now = time.time()
        sets = "".join(f", {k} = ?" for k in fields)
        with self._tx():
            self.conn.execute(
                f"UPDATE jobs SET state = ?, pid = NULL, pid_started = NULL, finished_at = ?, updated_at = ?{sets} WHERE id = ?",
                (state, now, now, *fields.values(), job_id),
            )
        return self.get(job_id)

    def request_cancel(self, job_id: int, mode: str) -> Job:
        """Cancel a queued job at once; mark a running one (the caller then signals it)."""
        job = self.get(job_id)
        if job.state == "queued":
            return self.finish(job_id, "cancelled", error="cancelled before it started")
        if job.state != "running":
            raise ConflictError(f"job {job_id} is {job.state}, not queued or running")
        with self._tx():
            self.conn.execute(
                "UPDATE jobs SET cancel_request = ?, updated_at = ? WHERE id = ?", (mode, time.time(), job_id)
            )
        return self.get(job_id)

    def requeue(self, job_id: int, resume: bool) -> Job:
        """Put a failed or cancelled job back in the queue (``resume``: continue from its saved state)."""
        job = self.get(job_id)
        if job.state not in ("failed", "cancelled"):
            raise ConflictError(f"job {job_id} is {job.state}; only failed or cancelled jobs can be resumed")
        now = time.time()
        with self._tx():
            position = self.conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM jobs").fetchone()[0]
            self.conn.execute(
                "UPDATE jobs SET state = 'queued', resume = ?, cancel_request = NULL, position = ?, finished_at = NULL,"
                " exit_code = NULL, error = NULL, log_tail = NULL, updated_at = ? WHERE id = ?",
                (int(resume), position, now, job_id),
            )
        return self.get(job_id)

    def move(self, job_id: int, index: int) -> list[Job]:
        """Move a queued job to ``index`` (0 = next to run) among the queued jobs."""
        queue = self.queued()
        ids = [j.id for j in queue]
        if job_id not in ids:
            raise ConflictError(f"job {job_id} is not queued; only queued jobs can be reordered")
        ids.remove(job_id)
        ids.insert(max(0, min(index, len(ids))), job_id)
        with self._tx():
            for pos, jid in enumerate(ids, start=1):
                self.conn.execute(
                    "UPDATE jobs SET position = ?, updated_at = ? WHERE id = ?", (float(pos), time.time(), jid)
                )
        return self.queued()

    def forget(self, job_id: int) -> Job:
        """Drop a finished job from the list (its folder is left to the caller)."""
        job = self.get(job_id)
        if job.state not in FINISHED:
            raise ConflictError(f"job {job_id} is {job.state}; cancel it first")
        with self._tx():
            self.conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return job

    def _tx(self):
        return _Transaction(self.conn)


class _Transaction:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False
