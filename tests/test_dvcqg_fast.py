"""The fast reader of national files (msgspec, slices of records) against the element-by-element reader:
the same problems, the same summary, the same rows, whatever the sender's quirks (numbers for strings,
unknown keys, lists where a string belongs, records that are not objects, pretty-printed files)."""
from __future__ import annotations

import copy
import json
import random
import sqlite3

import pytest
from sqlalchemy import Index, inspect

from tthc_core import store
from tthc_core.db import get_engine
from tthc_core.importer import dvcqg, import_file
from tthc_core.models import index_names

from test_dvcqg import bad_records, example, lifecycle_records, progress, second_sender

TABLES = ("dossiers", "agencies", "fields", "procedures", "supplement_rounds", "progress_steps")


def _rows(path) -> dict:
    with sqlite3.connect(path) as con:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES if t in names}


def _both(tmp_path, monkeypatch, data: bytes, name: str) -> tuple:
    out = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(dvcqg, "msgspec", None)  # the element-by-element reader alone
        path = tmp_path / f"{name}-{fast}.db"
        result = import_file(f"sqlite:///{path}", data)
        out.append(([p.text() for p in result.problems], result.summary(), result.rows_read, result.rows_valid,
                     _rows(path)))
    monkeypatch.undo()
    return tuple(out)


def _quirky(seed: int) -> list:
    rng = random.Random(seed)
    records = copy.deepcopy(example()["data"] + second_sender() + lifecycle_records())
    for _ in range(rng.randint(1, 4)):
        record = rng.choice(records)
        key = rng.choice(sorted(record) + ["TaiLieuNop", "DSKetNoiCSDL", "DanhSachLePhi"])
        record[key] = rng.choice(["", None, 5, 2.0, True, [1], {"a": 1}, "abc", " 1 ", "20229999000000",
                                  [{"Gia": "x"}], [{"MaCSDL": "x" * 300}], [{"MaCSDL": 7}, {"MaCSDL": "8"}],
                                  [{"IsDeleted": 1, "DuocSoHoa": True, "DuocTaiSuDung": 2.0}], "-5"])
    if rng.random() < 0.3:
        records.insert(rng.randint(0, len(records)), rng.choice([1, "x", None, [], {"foo": 1}]))
    return records


CASES = {
    "envelope": lambda: example(),
    "madonvi after data": lambda: {"data": example()["data"], "service": "DongBoHoSoMC", "madonvi": "SO-VIDU"},
    "second sender": second_sender,
    "bad records": lambda: {"service": "DongBoHoSoMC", "madonvi": "000.00.99.H00", "data": bad_records()},
    "lifecycle": lifecycle_records,
    "dossiers and steps": lambda: example()["data"][:1] + [progress("000.00.99.H00-220404-00101", "20220405090000",
                                                                    "Phòng A")],
    "unknown dossier of a step": lambda: [progress("KHONG-CO", "20220512090000", "Phòng A")],
    **{f"quirks {seed}": (lambda seed=seed: _quirky(seed)) for seed in range(12)},
}


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_the_fast_reader_answers_as_the_element_by_element_reader(tmp_path, monkeypatch, case, indent):
    data = json.dumps(CASES[case](), ensure_ascii=indent is not None, indent=indent).encode()
    fast, reference = _both(tmp_path, monkeypatch, data, "c")
    assert fast == reference


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_broken_file_is_described_by_the_element_by_element_reader(tmp_path, monkeypatch, cut):
    text = json.dumps(example(), ensure_ascii=False)
    fast, reference = _both(tmp_path, monkeypatch, text[: len(text) * cut // 4].encode(), "b")
    assert fast == reference and fast[0][0].startswith("Dòng 1: Tệp JSON hỏng ở ký tự thứ")


def test_a_large_import_sets_the_indexes_aside_and_builds_them_again(sqlite_url, monkeypatch):
    monkeypatch.setattr(store, "REBUILD_INDEXES_FROM", 1)
    monkeypatch.setattr(dvcqg, "BATCH", 2)
    built = []
    create = Index.create
    monkeypatch.setattr(Index, "create", lambda self, bind, **kw: (built.append(self.name), create(self, bind, **kw)))
    assert import_file(sqlite_url, json.dumps(example()).encode()).written
    # once for the three batches, but the unique code, which each batch's upsert needs; an index declared
    # for PostgreSQL only (ddl_if) is neither dropped nor built on SQLite
    on_sqlite = index_names(store.Dossier.__table__, "sqlite")
    assert "ix_dossiers_open" in on_sqlite and "ix_dossiers_open_pg" not in on_sqlite
    assert {name: built.count(name) for name in built if name != "uq_dossiers_code"} == {
        name: 1 for name in on_sqlite if name != "uq_dossiers_code"}
    with get_engine(sqlite_url).connect() as conn:
        names = {ix["name"] for ix in inspect(conn).get_indexes("dossiers")}
    assert names == on_sqlite


@pytest.mark.parametrize("case", ["envelope", "madonvi after data", "second sender", "bad records",
                                  "dossiers and steps", "unknown dossier of a step", "quirks 3"])
def test_a_large_file_read_in_a_process_of_its_own_imports_the_same(tmp_path, monkeypatch, case):
    """Above PARALLEL_FROM a reader process checks the records while this one writes: same answer."""
    path = tmp_path / "ho-so.json"
    path.write_bytes(json.dumps(CASES[case](), ensure_ascii=False).encode())
    out = []
    for limit in (0, 1 << 62):
        monkeypatch.setattr(dvcqg, "PARALLEL_FROM", limit)
        db = tmp_path / f"{limit}.db"
        result = import_file(f"sqlite:///{db}", path)
        out.append(([p.text() for p in result.problems], result.summary(), result.rows_read, result.rows_valid,
                    result.written, {table: rows for table, rows in _rows(db).items() if rows}))
    assert out[0] == out[1]
