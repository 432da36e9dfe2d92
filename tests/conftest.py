"""Shared fixtures: fresh real databases (a SQLite file, and PostgreSQL when configured) and the demo.

PostgreSQL runs when ``TTHC_TEST_DATABASE_URL`` points at a server (CI sets it). Each test gets a
database of its own, created on that server and dropped afterwards. Under CI a missing URL is an
error, not a skip: a skipped PostgreSQL test is not a passing one.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tthc_core.db import dispose_engine, get_engine

PG_ENV = "TTHC_TEST_DATABASE_URL"
DEMO_TODAY = dt.date(2026, 11, 27)

# The dashboards the tests start (AppTest in this process, ``streamlit run`` in a child, which inherits
# it) count from SQL or a valid sidecar and start no background copy: each fresh database or write would
# start one, a process importing pandas, for figures the tests compare against SQL anyway. The copy's
# own tests (test_columnar, test_qd766_columns, test_bench) ask for it explicitly.
os.environ["TTHC_BACKGROUND_COPY"] = "0"


def _pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set under CI: the PostgreSQL tests must run.")
        return None
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class PostgresDatabases:
    """Creates throw-away databases on the configured server and drops them again."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.template: str | None = None

    def _url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _template(self) -> str:
        """A database with the schema, made once per session: each test's database is a copy of it
        (CREATE DATABASE … TEMPLATE, 0,1 s) instead of a schema built again (0,3 s, 200-odd tests)."""
        if self.template is None:
            name = f"tthc_template_{uuid.uuid4().hex[:12]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            get_engine(self._url(name))
            dispose_engine(self._url(name))  # a template must have no connection while it is copied
            self.template = name
        return self.template

    def create(self) -> str:
        name = f"tthc_test_{uuid.uuid4().hex[:12]}"
        template = self._template()
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return self._url(name)

    def drop(self, url: str) -> None:
        dispose_engine(url)
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres() -> PostgresDatabases | None:
    url = _pg_admin_url()
    if url is None:
        yield None
        return
    pg = PostgresDatabases(url)
    yield pg
    if pg.template is not None:
        with pg.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg.template}" WITH (FORCE)'))
    pg.admin.dispose()


def _fresh_url(request, postgres, tmp_path_factory, engine_name: str):
    if engine_name == "sqlite":
        path = tmp_path_factory.mktemp("db") / "tthc.db"
        url = f"sqlite:///{path}"
        get_engine(url)
        return url, (lambda: dispose_engine(url))
    if postgres is None:
        pytest.skip(f"PostgreSQL: set {PG_ENV} to run")
    url = postgres.create()
    get_engine(url)
    return url, (lambda: postgres.drop(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, postgres, tmp_path_factory) -> str:
    """The URL of a fresh, empty database with the schema, on each engine."""
    url, cleanup = _fresh_url(request, postgres, tmp_path_factory, request.param)
    yield url
    cleanup()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A fresh SQLite file only (for tests about files, CLI subprocesses and the UI)."""
    url = f"sqlite:///{tmp_path}/tthc.db"
    get_engine(url)
    yield url
    dispose_engine(url)


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory) -> str:
    """The demo database (SQLite), built once per test session with a fixed 'today'."""
    from tthc_core.demo import build_demo

    url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/demo.db"
    build_demo(url, today=DEMO_TODAY)
    _leave_copies(url)
    yield url
    dispose_engine(url)


def _leave_copies(url: str) -> None:
    """Build the demo's two columnar copies once, into their sidecar files, as a dashboard that has been
    running would have: the dashboards the tests start (which build none themselves, above) then read
    them, here and in every copy of the demo until it is written to."""
    from tthc_core import columnar, qd766_columns

    with get_engine(url).connect() as conn:
        columnar.snapshot(conn, wait=True)
        qd766_columns.fast_copy(conn, wait=True)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def demo_db(request, postgres, tmp_path_factory) -> str:
    """The demo database on each engine (built once per engine and session)."""
    from tthc_core.demo import build_demo

    if request.param == "sqlite":
        yield request.getfixturevalue("demo_url")
        return
    url, cleanup = _fresh_url(request, postgres, tmp_path_factory, request.param)
    build_demo(url, today=DEMO_TODAY)
    yield url
    cleanup()


def copy_database(url: str, folder: Path, name: str = "copy.db") -> str:
    """A private copy of a SQLite database (through the backup API, so the WAL is included)."""
    target = folder / name
    source, destination = sqlite3.connect(make_url(url).database), sqlite3.connect(target)
    with destination:
        source.backup(destination)
    source.close()
    destination.close()
    # The columnar copies' sidecars stay valid for the copy (they carry the dossiers' version).
    original = Path(make_url(url).database)
    for sidecar in original.parent.glob(original.name + ".columns*"):
        shutil.copyfile(sidecar, target.parent / (target.name + sidecar.name[len(original.name):]))
    return f"sqlite:///{target}"


@pytest.fixture
def demo_copy(demo_url, tmp_path) -> str:
    """A copy of the demo database for tests that write (the shared demo is never mutated)."""
    url = copy_database(demo_url, tmp_path, "demo-copy.db")
    yield url
    dispose_engine(url)
