"""A live-feed batch, its import-log row and the source's new watermark are one transaction (issue 10):
a failure between them writes none of them, and the next run imports the batch exactly once. On SQLite
and PostgreSQL, for CSV and DongBoHoSoMC JSON pages."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tthc_core import auth, sync

from test_sync import (dossier_count, drop, json_reader_available, log_rows, records, server, state_of,  # noqa: F401
                       url_of)


class Crash(OperationalError):
    def __init__(self):
        super().__init__("INSERT INTO import_log …", {}, Exception("disk I/O error"))


@pytest.fixture
def crash_at_the_log(monkeypatch):
    """The import-log row fails once, after the batch's rows were written in the same transaction."""
    record = auth.record_import
    calls = []

    def failing(conn, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise Crash()
        return record(conn, *args, **kwargs)

    monkeypatch.setattr(auth, "record_import", failing)
    return calls


def test_a_failure_logging_a_fetched_batch_writes_neither_it_nor_the_watermark(db_url, server, records,
                                                                                 crash_at_the_log):
    server.script.pages, server.script.content_type = records.pages, records.content_type
    failed = sync.sync_url(db_url, url_of(server))
    assert not failed.ok and failed.written == 0
    assert dossier_count(db_url) == 0 and log_rows(db_url) == []
    state = state_of(db_url, sync.url_source(url_of(server)))
    assert state["watermark"] is None and state["consecutive_failures"] == 1
    # the next run starts from the same place and imports every page once
    again = sync.sync_url(db_url, url_of(server))
    assert again.ok and again.written == len(records.pages)
    assert len(log_rows(db_url)) == len(records.pages) and all(row.written for row in log_rows(db_url))
    assert state_of(db_url, sync.url_source(url_of(server)))["watermark"] == str(len(records.pages))
    assert sync.sync_url(db_url, url_of(server)).written == 0


def test_a_failure_logging_a_dropped_file_leaves_it_waiting(db_url, tmp_path, records, crash_at_the_log):
    folder = tmp_path / "vao"
    folder.mkdir()
    drop(folder, "lo-1" + records.suffix, records.pages[0])
    failed = sync.sync_folder(db_url, folder)
    assert not failed.ok and dossier_count(db_url) == 0 and log_rows(db_url) == []
    assert (folder / ("lo-1" + records.suffix)).exists()
    done = sync.sync_folder(db_url, folder)
    assert done.ok and done.written == 1 and dossier_count(db_url) > 0
    assert [row.written for row in log_rows(db_url)] == [True]
