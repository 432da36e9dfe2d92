"""Resolution and writing: agency, field and procedure ids of the checked rows, and the one write."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from .. import store
from ..db import get_engine
from ..models import Agency, Procedure
from .checks import BOOLEAN_COLUMNS, Checker


# The lifecycle columns a table may carry (procedure_code stays the catalogue link it always was).
# result_pushed_to_store and rated_dissatisfied (QĐ 766 4.4, 5.4) are not in the national record: only a
# table writes them, so a national re-sync leaves what a table said.
CSV_LIFECYCLE = (*(c for c in store.LIFECYCLE_COLUMNS if c != "procedure_code"), "result_pushed_to_store",
                 "rated_dissatisfied")


# A file column → the stored columns it decides. A file without the column leaves them as stored on
# the dossiers it updates: re-importing a narrower export (no «Ngày có kết quả») used to set them to
# NULL, and the quarter's resolved dossiers went from 2.525 to 2.524 (issue 14).
DECIDES = {"agency_code": ("agency_id",), "procedure_code": ("procedure_id",), "field": ("field_id",),
           "status": ("status",), "due_at": ("due_at", "due_estimated"), "resolved_at": ("resolved_at",),
           "apology_count": ("apology_count",)}


def _dossier_frame(conn: Connection, frame: pd.DataFrame, agency_of: pd.Series, carried: Iterable[str]
                   ) -> pd.DataFrame:
    """The columns :func:`store.write_dossier_frame` takes: ids of fields and procedures, created when
    missing; for stored codes, the stored values of what the file does not carry (``carried``: its
    canonical columns)."""
    fields = store.field_ids(conn, frame["field"].unique())
    out = pd.DataFrame({
        "code": frame["code"],
        "agency_id": agency_of,
        "procedure_id": _procedure_ids(conn, frame, agency_of),
        "field_id": _lookup(frame["field"], fields),
        "channel": frame["channel"],
        "status": frame["status"],
        "received_at": frame["received_at"],
        "due_at": frame["due_at"],
        "resolved_at": frame["resolved_at"],
        "apology_count": frame["apology_count"],
        # the optional lifecycle columns the file had (checks._check_lifecycle)
        **{c: frame[c] for c in CSV_LIFECYCLE if c in frame},
    }, index=frame.index)
    kept = [column for decider, columns in DECIDES.items() if decider not in carried for column in columns]
    if not kept:
        return out
    stored = store.stored_dossier_values(conn, out["code"], kept)
    known = out["code"].isin(stored.index).to_numpy()
    if known.any():
        for column in kept:
            values = (out[column] if column in out else pd.Series(False, index=out.index)).astype(object)
            values[known] = out["code"][known].map(stored[column]).to_numpy()
            out[column] = values
    return out


def _lookup(values: pd.Series, mapping: dict) -> pd.Series:
    """``mapping[value]`` for each value (None when absent), looked up once per distinct value."""
    codes, uniques = pd.factorize(values)
    found = np.array([mapping.get(u) for u in uniques] + [None], dtype=object)
    return pd.Series(found[codes], index=values.index, dtype=object)


def _procedure_ids(conn: Connection, frame: pd.DataFrame, agency_of: pd.Series) -> pd.Series:
    """Procedure of each row: (agency, code), else the code alone when one agency has it, else a new
    minimal procedure when the row names it, else None (the data-quality page lists those)."""
    index = store.procedure_index(conn)
    by_code: dict[str, list[int]] = {}
    for (_, code), row in index.items():
        by_code.setdefault(code, []).append(row.id)
    # One number per (agency, code) pair, so that each distinct pair is resolved once.
    code_of, codes = pd.factorize(frame["procedure_code"])
    agency = agency_of.to_numpy(dtype="int64")
    pairs, first, pair_of = np.unique(agency * len(codes) + code_of, return_index=True, return_inverse=True)
    found = np.full(len(pairs), None, dtype=object)
    missing = []
    for pair, row_number in sorted(enumerate(first.tolist()), key=lambda p: p[1]):  # in file order
        agency_id, code = int(agency[row_number]), codes[code_of[row_number]]
        if code == "":
            continue
        row = index.get((agency_id, code))
        if row is not None:
            found[pair] = row.id
        elif len(by_code.get(code, [])) == 1:
            found[pair] = by_code[code][0]
        else:
            missing.append((pair, agency_id, code))
    if missing:
        # The first name and field the file gives the procedure; without a name it stays unknown.
        first_name, first_field = (_first_given(frame[column], pair_of) for column in ("procedure_name", "field"))
        named = [{"agency_id": agency_id, "code": code, "name": first_name[pair], "field": first_field.get(pair, "")}
                 for pair, agency_id, code in missing if pair in first_name]
        if named:
            _create_minimal_procedures(conn, named)
            index = store.procedure_index(conn)
            for pair, agency_id, code in missing:
                if pair in first_name:
                    found[pair] = index[(agency_id, code)].id
    return pd.Series(found[pair_of.reshape(-1)], index=frame.index, dtype=object)


def _first_given(values: pd.Series, group_of: np.ndarray) -> dict[int, str]:
    """Group number → the first non-empty value of the group's rows."""
    rows = np.flatnonzero((values != "").to_numpy())
    groups, at = np.unique(group_of.reshape(-1)[rows], return_index=True)
    return dict(zip(groups.tolist(), values.iloc[rows[at]].tolist()))


def _create_minimal_procedures(conn: Connection, rows: list[dict]) -> None:
    """A procedure known only from dossiers: code, name and field, at its agency's level.

    Not published nor publicized: nothing says the agency's catalogue has it, so it must not swell the
    published and publicized figures (it still counts in the total under the agency's authority).
    """
    fields = store.field_ids(conn, {r["field"] for r in rows})
    levels = dict(conn.execute(select(Agency.id, Agency.level)
                               .where(Agency.id.in_({r["agency_id"] for r in rows}))).all())
    conn.execute(Procedure.__table__.insert(), [
        {"agency_id": r["agency_id"], "code": r["code"], "name": r["name"], "field_id": fields.get(r["field"]),
         "authority_level": levels.get(r["agency_id"], "province"), "published": False, "publicized": False}
        for r in rows
    ])




def _procedure_rows(conn: Connection, frame: pd.DataFrame, agency_of: pd.Series,
                    columns: dict[str, int]) -> list[dict]:
    """Rows for :func:`store.write_procedures` from the columns the file has (an existing procedure keeps
    the stored values of the others: a file of codes and processing days does not reset its flags)."""
    values: dict[str, list] = {"agency_id": agency_of.tolist(), "code": frame["code"].tolist(),
                               "name": frame["name"].tolist()}
    if "field" in columns:
        fields = store.field_ids(conn, frame["field"].unique())
        values["field_id"] = [fields.get(name) for name in frame["field"]]
    for column in columns:
        if column in ("code", "name", "field", "agency_code"):
            continue
        series = frame[column]
        if column == "online_level":
            values[column] = [None if pd.isna(v) else int(v) for v in series]
        elif column in BOOLEAN_COLUMNS:
            values[column] = [bool(v) for v in series]
        else:
            values[column] = [None if v is None or (isinstance(v, float) and pd.isna(v)) else v for v in series]
    return [dict(zip(values, row)) for row in zip(*values.values())]


def _agency_ids(conn: Connection, frame: pd.DataFrame, fallback: str | None, create: bool) -> pd.Series:
    """The agency of each row: its own column, else the ``agency`` argument, else the default agency.

    Codes match stored agencies regardless of case. Without ``create`` (dry run) nothing is written
    and an agency not yet in the database gets id -1.
    """
    ids = store.agency_ids(conn, frame["agency_code"].unique(), create=create)
    default = None
    if not (frame["agency_code"] != "").all():  # the default agency only when a row needs it
        if fallback:
            default = store.agency_ids(conn, [fallback], create=create)[fallback]
        else:
            default = store.default_agency_id(conn, create=create)
    ids = {code: -1 if found is None else found for code, found in ids.items()}
    return _lookup(frame["agency_code"], ids).fillna(-1 if default is None else default).astype("int64")


def existing_procedure_keys(conn: Connection, keys: Sequence[tuple[int, str]]) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    codes = sorted({code for _, code in keys})
    for start in range(0, len(codes), store.LOOKUP_CHUNK):
        chunk = codes[start:start + store.LOOKUP_CHUNK]
        found.update(tuple(r) for r in conn.execute(
            select(Procedure.agency_id, Procedure.code).where(Procedure.code.in_(chunk))).all())
    return found & set(keys)


def count(conn: Connection, kind: str, valid: pd.DataFrame, agency_of: pd.Series) -> tuple[int, int]:
    """(added, updated): how many codes are new to the database and how many are already there."""
    if kind == "dossiers":
        updated = len(store.existing_dossier_codes(conn, valid["code"]))
    else:
        keys = list(zip(agency_of.tolist(), valid["code"].tolist()))
        updated = len(existing_procedure_keys(conn, keys))
    return len(valid) - updated, updated


def check_only(conn: Connection, kind: str, valid: pd.DataFrame, agency: str | None) -> tuple[int, int]:
    """A dry run's (added, updated), with nothing written (agencies not yet stored get id -1)."""
    return count(conn, kind, valid, _agency_ids(conn, valid, agency, create=False))


def write(conn: Connection, kind: str, valid: pd.DataFrame, agency: str | None, columns: dict[str, int],
          scope: Any = None) -> tuple[int, int]:
    """Write the valid rows inside the caller's transaction (agencies, fields and procedures created on
    the way); returns (added, updated). Raises :class:`ForeignCodes` when a dossier code of the file
    belongs to an agency outside ``scope`` (checked again here: another import may have written it
    since the rows were checked)."""
    agency_of = _agency_ids(conn, valid, agency, create=True)
    if kind == "dossiers":
        if _foreign_codes(conn, valid["code"], scope):
            raise ForeignCodes()
        frame = _dossier_frame(conn, valid, agency_of, columns)
        updated = store.write_dossier_frame(conn, frame, extra=[c for c in CSV_LIFECYCLE if c in frame])
        return len(valid) - updated, updated
    added, updated = count(conn, kind, valid, agency_of)
    store.write_procedures(conn, _procedure_rows(conn, valid, agency_of, columns))
    return added, updated


def scoped_agencies(check: Checker, frame: pd.DataFrame, agency: str | None, scope: Any) -> str | None:
    """The agency for rows without one; a problem for each row whose agency lies outside ``scope``.

    An account limited to some agencies writes only theirs, whatever the file says: rows naming another
    agency are refused (each with its line), rows naming none go to the chosen agency, else to the
    account's only agency; an account of several agencies must choose.
    """
    if scope is None or scope.agencies is None:
        return agency
    if agency is not None:  # codes match regardless of case, as stored agencies do (store.agency_ids)
        agency = next((code for code in scope.agencies if code.casefold() == agency.casefold()), agency)
        scope.restrict(agency)  # AccessDenied: the chosen agency is not the account's
    elif len(scope.agencies) == 1:
        agency = scope.agencies[0]
    allowed = {code.casefold() for code in scope.agencies}
    named = frame["agency_code"]
    check.add(~named.str.casefold().isin(allowed) & (named != ""), "agency_code",
              lambda v, n: f"cơ quan «{v}» ngoài phạm vi của tài khoản «{scope.username}»: không được nhập dữ liệu "
                           "của đơn vị khác")
    if agency is None:
        check.add(named == "", "agency_code",
                  lambda v, n: "chưa rõ cơ quan của dòng: chọn cơ quan của dữ liệu trước khi nhập, hoặc ghi cột "
                               "«Mã cơ quan»")
    return agency


class ForeignCodes(Exception):
    """A dossier code of the file is stored for an agency outside the importing account's scope."""


FOREIGN_CODE = ("mã hồ sơ «{}» đã có trong cơ sở dữ liệu, thuộc một cơ quan ngoài phạm vi của tài khoản: không "
                "được thay đổi hồ sơ của đơn vị khác")


def check_scoped_rows(db: str | Engine | None, check: Checker, frame: pd.DataFrame, kind: str, agency: str | None,
                      scope: Any) -> None:
    """What an account's import is checked for in the database before anything is written:

    - an agency that does not exist yet is never created on an officer's behalf (nor are its rows sent
      to the default agency): an admin creates it first (issue 13);
    - a dossier whose code is stored for an agency outside ``scope`` is refused: upserts go by code
      province-wide, so without this an officer could overwrite another unit's dossiers (issue 14).
      The message does not say which agency holds it.
    """
    if scope is None or scope.agencies is None:
        return
    named = frame["agency_code"].where(frame["agency_code"] != "", agency or "")
    with get_engine(db).connect() as conn:
        known = store.agency_ids(conn, named.unique(), create=False)
        foreign = _foreign_codes(conn, frame["code"], scope) if kind == "dossiers" else set()
    check.add(named.map(lambda code: code != "" and known.get(code) is None), "agency_code",
              lambda v, n: f"cơ quan «{named.at[n]}» chưa có trong cơ sở dữ liệu: quản trị viên cần tạo cơ quan này "
                           "trước (trang Dữ liệu, mục «Cơ quan, đơn vị», hoặc lệnh user add --agency … "
                           "--create-agency)")
    check.add(frame["code"].isin(foreign), "code", lambda v, n: FOREIGN_CODE.format(v))


def _foreign_codes(conn: Connection, codes: pd.Series, scope: Any) -> set[str]:
    if scope is None or scope.agencies is None:
        return set()
    own = [found for found in store.agency_ids(conn, scope.agencies, create=False).values() if found is not None]
    return store.existing_dossier_codes(conn, codes[codes != ""], not_of=own)
