"""The store on both databases (SQLite with WAL, PostgreSQL as a user process): a queued job
goes to exactly one of many concurrent claimers, rows are per tenant, the event feed is
ordered and pruned, job logs keep their tail."""
from __future__ import annotations

import threading
import time

import pytest

from dhsdk.errors import InputError
from dhsdk.serve.db import Store, engine_url, redact


def test_every_job_is_claimed_exactly_once_by_concurrent_workers(db_url):
    store = Store(db_url)
    ids = [store.add_job("ten_a", "render", f"rn_{i:020x}", {"i": i}, 3)["id"] for i in range(40)]
    got: dict[str, list[str]] = {}
    lock = threading.Lock()

    def worker(name: str) -> None:
        other = Store(db_url)   # its own connections, as a second process would have
        while (job := other.claim_job(name)) is not None:
            with lock:
                got.setdefault(job["id"], []).append(name)
        other.close()

    threads = [threading.Thread(target=worker, args=(f"w{k}",)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(got) == sorted(ids)
    assert all(len(v) == 1 for v in got.values())
    rows = [store.get("jobs", i) for i in ids]
    assert all(r["state"] == "running" and r["attempts"] == 1 and r["worker"] == got[r["id"]][0] for r in rows)
    assert store.claim_job("late") is None
    store.close()


def test_rows_are_per_tenant_and_updates_can_be_conditional(db_url):
    store = Store(db_url)
    store.insert("renders", id="rn_" + "1" * 20, tenant_id="ten_a", avatar_id="av_x", state="queued")
    assert store.get("renders", "rn_" + "1" * 20, "ten_b") is None
    assert store.get("renders", "rn_" + "1" * 20, "ten_a")["state"] == "queued"
    assert store.list("renders", "ten_b") == [] and len(store.list("renders", "ten_a")) == 1
    assert not store.update("renders", "rn_" + "1" * 20, only_if={"state": "ready"}, state="failed")
    assert store.update("renders", "rn_" + "1" * 20, only_if={"state": ["queued", "rendering"]}, state="ready")
    assert store.get("renders", "rn_" + "1" * 20)["state"] == "ready"
    a, b = store.tenant("acme", create=True), store.tenant("acme", create=True)
    assert a["id"] == b["id"] and store.tenant("nobody") is None
    store.close()


def test_events_come_in_order_per_tenant_and_old_ones_are_pruned(db_url):
    store = Store(db_url)
    for i in range(5):
        store.add_event("ten_a", "job", "job_x", "job.progress", {"progress": i / 4})
    store.add_event("ten_b", "job", "job_y", "job.progress", {"progress": 1.0})
    events = store.events_after("ten_a", 0)
    assert [e["data"]["progress"] for e in events] == [0, 0.25, 0.5, 0.75, 1.0]
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert store.events_after("ten_a", events[2]["id"])[0]["id"] == events[3]["id"]
    assert store.last_event_id("ten_a") == events[-1]["id"] and store.last_event_id("ten_c") == 0
    time.sleep(0.05)
    assert store.prune_events(0.01) == 6 and store.events_after("ten_a", 0) == []
    store.close()


def test_a_job_log_keeps_its_tail_in_order(db_url):
    store = Store(db_url)
    for i in range(70):
        store.log("job_a", f"line {i}")
    tail = store.log_tail("job_a")
    assert [t["message"] for t in tail] == [f"line {i}" for i in range(20, 70)]
    store.close()


def test_urls_pick_psycopg_and_passwords_stay_out_of_messages(tmp_path):
    assert engine_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert engine_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert engine_url("sqlite:///x.db") == "sqlite:///x.db"
    assert redact("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    with pytest.raises(InputError) as e:
        Store("postgresql://dhsdk:secret@127.0.0.1:1/none")   # nothing listens on port 1
    assert "secret" not in str(e.value) and "cannot open the database" in str(e.value)


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
