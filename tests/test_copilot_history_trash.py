"""Copilot history: deleting goes to a trash with restore (the product's trash rule) in the same SQLite file."""

from __future__ import annotations

import sqlite3
import time

import pytest

from lorapilot.kit.errors import ConflictError, LorapilotError, NotFoundError
from lorapilot.tools.copilot.chat_history import SCHEMA, ChatHistory


def _done(db: ChatHistory, conversation: str, prompt: str) -> int:
    entry_id = db.start(conversation, prompt, "outputs", None, {})
    db.finish(entry_id, f"answer to {prompt}", "", 0, "ok", 0.1)
    return entry_id


@pytest.fixture
def db(tmp_path):
    history = ChatHistory(tmp_path / "history.db")
    yield history
    history.close()


def test_delete_one_entry_hides_it_and_restore_puts_it_back(db):
    first, second = _done(db, "c1", "first"), _done(db, "c1", "second")
    deleted = db.delete(first)
    assert deleted["deleted"] == 1 and len(deleted["batch"]) == 32
    assert [e.id for e in db.entries("c1")] == [second]
    with pytest.raises(NotFoundError):
        db.get(first)
    assert db.conversations()[0]["messages"] == 1
    assert db.conversations()[0]["title"] == "second"  # the title comes from what is left

    trash = db.trash()
    assert [(e.id, e.prompt, e.answer) for e in trash] == [(first, "first", "answer to first")]
    assert trash[0].deleted_at is not None and trash[0].deleted_batch == deleted["batch"]

    assert db.restore(entry_id=first) == 1
    assert [e.id for e in db.entries("c1")] == [second, first]
    assert db.get(first).deleted_at is None
    assert db.trash() == []


def test_clear_all_is_one_batch_undone_at_once_and_keeps_a_running_entry(db):
    ids = [_done(db, "c1", "a"), _done(db, "c2", "b"), _done(db, "c2", "c")]
    running = db.start("c3", "still running", "outputs", None, {})
    cleared = db.clear()
    assert cleared["deleted"] == 3 and cleared["kept_running"] == 1
    assert [e.id for e in db.entries()] == [running]
    assert sorted(e.id for e in db.trash()) == ids
    assert db.restore(batch=cleared["batch"]) == 3
    assert sorted(e.id for e in db.entries()) == [*ids, running]


def test_clear_one_conversation_only(db):
    keep, gone = _done(db, "keep", "a"), _done(db, "gone", "b")
    assert db.clear("gone")["deleted"] == 1
    assert [e.id for e in db.entries()] == [keep]
    assert [e.id for e in db.trash()] == [gone]
    assert [c["conversation_id"] for c in db.conversations()] == ["keep"]
    with pytest.raises(NotFoundError, match="conversation nothing-here not found"):
        db.clear("nothing-here")


def test_bad_deletes_and_restores_say_what_is_wrong(db):
    entry = _done(db, "c1", "a")
    running = db.start("c1", "busy", "outputs", None, {})
    with pytest.raises(ConflictError, match=f"entry {running} is still running"):
        db.delete(running)
    with pytest.raises(NotFoundError, match="entry 999 not found"):
        db.delete(999)
    with pytest.raises(NotFoundError, match=f"entry {entry} is not in the Copilot history trash"):
        db.restore(entry_id=entry)
    with pytest.raises(LorapilotError, match="exactly one of 'id'"):
        db.restore()
    with pytest.raises(LorapilotError, match="batch: 'nope' is not a trash batch id"):
        db.restore(batch="nope")
    db.delete(entry)
    with pytest.raises(NotFoundError):
        db.delete(entry)  # already in the trash
    with pytest.raises(LorapilotError, match="older_than: -1 is negative"):
        db.empty_trash(-1)


def test_purge_and_empty_delete_for_good(db):
    a, b, c = _done(db, "c", "a"), _done(db, "c", "b"), _done(db, "c", "c")
    for entry_id in (a, b, c):
        db.delete(entry_id)
    db.purge(a)
    assert sorted(e.id for e in db.trash()) == [b, c]
    with pytest.raises(NotFoundError):
        db.restore(entry_id=a)
    # Age-based emptying, as lorapilot.kit.trash.Trash.empty(older_than_s): only rows deleted long enough ago go.
    db._conn.execute("UPDATE chats SET deleted_at = ? WHERE id = ?", (time.time() - 40 * 86400, b))
    assert db.empty_trash(older_than_s=30 * 86400) == 1
    assert [e.id for e in db.trash()] == [c]
    assert db.empty_trash() == 1
    assert db.trash() == [] and db.entries() == []
    rows = sqlite3.connect(db.path).execute("SELECT COUNT(*) FROM chats").fetchone()[0]
    assert rows == 0


def test_a_history_from_before_the_trash_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    for statement in SCHEMA[0].split(";"):
        if statement.strip():
            old.execute(statement)
    old.execute("PRAGMA user_version=1")
    old.execute(
        "INSERT INTO chats (conversation_id, prompt, answer, status, cwd, started_at)"
        " VALUES ('c', 'kept', 'yes', 'ok', 'outputs', 1.0)"
    )
    old.commit()
    old.close()
    db = ChatHistory(path)
    try:
        [entry] = db.entries()
        assert entry.prompt == "kept" and entry.deleted_at is None
        db.delete(entry.id)
        assert [e.prompt for e in db.trash()] == ["kept"]
    finally:
        db.close()
