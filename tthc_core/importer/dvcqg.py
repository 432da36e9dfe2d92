"""Reading the national sync records (Cổng DVCQG, dvcqg-sync.md) into the database.

A province's one-stop system describes each dossier the way it pushes it to the national portal:
``DongBoHoSoMC`` dossier headers (with nested lists: files, fees, supplement rounds, results) and
``CapNhatTienDoHoSoMC`` progress steps. :func:`import_national` reads either, as a request envelope
(``{"service", "madonvi", "isUpdating", "data": [...]}``) or a bare array, and may mix both kinds of
record in one array (each record is recognised by its keys).

Like every import it is all or nothing, and it streams: a province's yearly file is gigabytes.

1. Pass 1 reads the file, checks every record and prepares its row by batch, column-wise; the prepared
   batches are spooled to a temporary file. Every refused record is a
   :class:`~tthc_core.problems.Problem` naming its index (1 = the first record of the array), its
   ``MaHoSo``, the field and the reason. The fast reader (:class:`_FastStream`) cuts the bytes into
   slices of whole records and msgspec decodes each slice in one call into typed structs
   (:data:`_Record`; a slice it refuses comes as dicts); anything irregular (broken JSON, an odd
   envelope) sends the import back to the start with the element-by-element reader
   (:class:`_JsonStream`, ``json.JSONDecoder.raw_decode`` over a sliding text buffer), which names the
   place and the reason. Memory does not grow with the file either way.
2. Only when no record was refused, pass 2 writes the spooled batches in ONE transaction: agencies,
   fields and procedures met for the first time (listed in the summary), dossiers with their
   lifecycle columns, supplement rounds, progress steps and each dossier's current handling unit.
   A large file (:data:`PARALLEL_FROM`, given by its path) runs both passes at once on two cores: a
   reader process does pass 1 and sends each prepared batch to this process, which writes it in the
   one transaction, rolled back when any record is refused (:func:`_import_parallel`).

An account limited to some agencies has each record's agency checked (:func:`_scope_problems`).

A later record for the same ``MaHoSo`` replaces the earlier one, within a file and across imports
(the sender's ``isUpdating``); its supplement rounds are replaced with it. Progress steps accumulate
(a step already stored is kept once).
"""
from __future__ import annotations

import codecs
import contextlib
import gc
import io
import json
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from itertools import chain
from multiprocessing.connection import Connection
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any, Iterator, Optional, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, select

try:  # the fast reader (typed records decoded in batches); without it the json module reads everything
    import msgspec
except ImportError:  # pragma: no cover - requirements.txt installs it
    msgspec = None

from .. import store
from ..db import bump_data_version, get_engine
from ..formatting import fmt_int
from ..models import Agency, Field, Procedure
from ..problems import RECORD, Problem
from ..workdays import load_calendar
from . import Format, ImportResult, register_format
from .resolve import FOREIGN_CODE, _procedure_ids

FORMAT = "dvcqg"
SERVICES = ("DongBoHoSoMC", "CapNhatTienDoHoSoMC")

# Records checked and prepared together: bounds the memory of pass 1 and of each write of pass 2.
BATCH = 25_000
# Text read from the file at a time; a single record longer than MAX_RECORD characters is refused.
CHUNK = 4 << 20
MAX_RECORD = 64 << 20
# A file at least this large (a path, not an upload held in memory) is read and checked in a process of
# its own while this one writes the batches it sends: the two halves of the import on two cores.
PARALLEL_FROM = 256 << 20
# Refused records listed at most (a broken export of millions of records must not fill the memory).
MAX_PROBLEMS = 1000

# dvcqg-sync.md §4.1 TrangThaiHoSo → (our status, intake); 7 and 8 end the dossier at NgayKetThucXuLy.
STATUS_OF_CODE = {1: ("normal", "not_accepted"), 2: ("normal", "accepted"), 3: ("normal", "refused"),
                  4: ("normal", "accepted"), 5: ("suspended", "accepted"), 6: ("suspended", "accepted"),
                  7: ("withdrawn", "accepted"), 8: ("stopped", "accepted"), 9: ("normal", "accepted"),
                  10: ("normal", "accepted")}
_STATUS_NAMES = np.array([None, *(STATUS_OF_CODE[n][0] for n in range(1, 11))], dtype=object)
_INTAKE_NAMES = np.array([None, *(STATUS_OF_CODE[n][1] for n in range(1, 11))], dtype=object)
# Codes whose dossier has ended at NgayKetThucXuLy (domain.md §4b); 9/10 and 8 cannot lack it, 7 without
# it is a withdrawal request still pending.
ENDED = (7, 8, 9, 10)
END_REQUIRED = (8, 9, 10)
# KenhThucHien: 1 or empty in person (F766 3.3 counts null as in person), 2 online, 3 postal.
CHANNEL_OF_CODE = {"": "direct", "1": "direct", "2": "online", "3": "postal"}
PAYMENT_OF_CODE = {"": None, "0": None, "1": "dvcqg", "2": "local_gateway"}
FLAG_OF_CODE = {"": None, "0": False, "1": True}
# NoiNopHoSo: 1 filed on Cổng DVCQG, 2 on the ministry/province system (inferred, dvcqg-sync.md §3 #27).
PORTAL_OF_CODE = {"": None, "1": True, "2": False}

# Dossier fields read as scalars (JSON strings or numbers), in the order of dvcqg-sync.md §3.
DOSSIER_SCALARS = ("MaHoSo", "MaTTHC", "TenTTHC", "MaLinhVuc", "TenLinhVuc", "KenhThucHien", "LoaiDoiTuong",
                   "NgayTiepNhan", "NgayHenTra", "TrangThaiHoSo", "NgayTra", "HinhThuc", "NgayKetThucXuLy",
                   "DonViXuLy", "NoiNopHoSo", "HoSoCoThanhPhanSoHoa", "TaiKhoanDuocXacThucVoiVNeID",
                   "DuocThanhToanTrucTuyen", "NgayTuChoi", "NgayNopHoSo")
DOSSIER_TIMES = ("NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy", "NgayTuChoi", "NgayNopHoSo")
STEP_SCALARS = ("MaHoSo", "NguoiXuLy", "ChucDanh", "ThoiDiemXuLy", "PhongBanXuLy", "NoiDungXuLy", "TrangThai",
                "NgayBatDau", "NgayKetThucTheoQuyDinh")
STEP_TIMES = ("ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh")
# Column widths of models.py: longer text would fail on PostgreSQL.
MAX_LENGTH = {"MaHoSo": 128, "MaTTHC": 64, "TenLinhVuc": 255, "MaLinhVuc": 255, "DonViXuLy": 255,
              "NguoiXuLy": 255, "ChucDanh": 255, "PhongBanXuLy": 255}

TIME_HINT = "dùng 14 chữ số yyyyMMddHHmmss, ví dụ 20220412140000"


if msgspec is not None:
    # What the fast reader decodes (dvcqg-sync.md §3): a scalar is a JSON string, number, boolean or null;
    # unknown keys are skipped; anything else (a list where a string belongs) refuses the slice, which is
    # then read as dicts and checked one record at a time. Not tracked by the garbage collector: millions
    # of them are made and none refers back to another.
    _Scalar = Union[str, int, float, bool, None]
    _Unset = msgspec.UnsetType

    class _File(msgspec.Struct, gc=False):
        IsDeleted: _Scalar = None
        DuocSoHoa: _Scalar = None
        DuocTaiSuDung: _Scalar = None
        DuocLayTuKhoDMQG: _Scalar = None

    class _Fee(msgspec.Struct, gc=False):
        Gia: _Scalar = None

    class _Result(msgspec.Struct, gc=False):
        DuongDanTepTinKetQua: _Scalar = None
        MaGiayToKetQua: _Scalar = None

    class _Database(msgspec.Struct, gc=False):
        MaCSDL: _Scalar = None

    class _Round(msgspec.Struct, gc=False):
        NgayBoSung: _Scalar = None
        NgayTiepNhanBoSung: _Scalar = None
        NgayHenTraTruoc: _Scalar = None
        NgayHenTraMoi: _Scalar = None

    # TrangThaiHoSo, NgayTiepNhan and ThoiDiemXuLy tell a dossier from a progress step: UNSET when absent.
    _KIND_KEYS = ("TrangThaiHoSo", "NgayTiepNhan", "ThoiDiemXuLy")
    _Record = msgspec.defstruct("_Record", [
        *((key, _Scalar, None) for key in DOSSIER_SCALARS if key not in _KIND_KEYS),
        *((key, Union[_Scalar, _Unset], msgspec.UNSET) for key in _KIND_KEYS),
        ("TaiLieuNop", Optional[list[_File]], None), ("DanhSachLePhi", Optional[list[_Fee]], None),
        ("DanhSachGiayToKetQua", Optional[list[_Result]], None), ("DSKetNoiCSDL", Optional[list[_Database]], None),
        ("DanhSachHoSoBoSung", Optional[list[_Round]], None),
    ], gc=False)


class _NotScalar:
    """Marks a field that holds a list or an object where a string or a number belongs."""


NOT_SCALAR = _NotScalar()


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------

@dataclass
class NationalImportResult(ImportResult):
    """:class:`~tthc_core.importer.ImportResult` plus what a national file adds."""

    service: str = ""  # the envelope's service, "" for a bare array
    progress_steps: int = 0  # steps read (valid)
    supplement_rounds: int = 0  # rounds of the valid dossiers
    created_agencies: list[str] = field(default_factory=list)  # "code (name)"
    created_fields: list[str] = field(default_factory=list)
    created_procedures: list[str] = field(default_factory=list)  # "code (name)"

    def summary(self) -> str:
        noun = "bản ghi"
        if self.written:
            if self.rows_valid:
                parts = [f"Đã nhập {fmt_int(self.rows_valid)} hồ sơ ({fmt_int(self.added)} mới, "
                         f"{fmt_int(self.updated)} cập nhật), {fmt_int(self.supplement_rounds)} lượt bổ sung, "
                         f"{fmt_int(self.progress_steps)} bước xử lý"]
            else:
                parts = [f"Đã nhập {fmt_int(self.progress_steps)} bước xử lý"]
            for label, items in (("cơ quan mới", self.created_agencies), ("lĩnh vực mới", self.created_fields),
                                 ("thủ tục mới", self.created_procedures)):
                if items:
                    shown = ", ".join(items[:10]) + (f" và {fmt_int(len(items) - 10)} khác" if len(items) > 10 else "")
                    parts.append(f"{label}: {shown}")
            return "; ".join(parts) + "."
        if self.file_problems:
            return f"Không ghi gì: {self.file_problems[0].message.rstrip('.')}."
        if self.rejected:
            return f"Không ghi gì: {fmt_int(self.rejected)} {noun} lỗi trong {fmt_int(self.rows_read)} {noun}."
        return "Không ghi gì: tệp không có hồ sơ hay bước xử lý hợp lệ nào."


# --------------------------------------------------------------------------------------------
# Detection and streaming
# --------------------------------------------------------------------------------------------

def looks_like_json(head: bytes) -> bool:
    """True when a file's first bytes open a JSON object or array (no CSV or XLSX starts so)."""
    text = head.lstrip(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    return text[:1] in (b"{", b"[")


class _Broken(Exception):
    """The file is not the JSON it should be (syntax, shape); the message is Vietnamese."""


class _JsonStream:
    """Top-level elements of a JSON array, or of an envelope's ``data`` array, one at a time.

    Each element is decoded by ``json.JSONDecoder.raw_decode`` from a text buffer that holds a few
    megabytes of the file; what was consumed is dropped when more is read. The envelope's other keys
    (``service``, ``madonvi``, ``isUpdating``) are collected in :attr:`envelope` wherever they stand,
    before or after ``data``.
    """

    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.json = json.JSONDecoder()
        self.buffer = ""
        self.pos = 0
        self.consumed = 0  # characters dropped from the front of the buffer
        self.eof = False
        self.envelope: dict[str, Any] = {}
        self.is_envelope = False

    def _more(self) -> bool:
        if self.eof:
            return False
        try:
            data = self.handle.read(CHUNK)
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise _Broken("Tệp không phải UTF-8: hãy xuất lại tệp JSON với mã hóa UTF-8") from None
        if not data:
            self.eof = True
        self.consumed += self.pos
        self.buffer = self.buffer[self.pos:] + text
        self.pos = 0
        return bool(data) or bool(text)

    def _char(self) -> str:
        """The next character that is not white space ('' at the end of the file), not consumed."""
        while True:
            buffer, pos = self.buffer, self.pos
            while pos < len(buffer) and buffer[pos] in " \t\r\n":
                pos += 1
            self.pos = pos
            if pos < len(buffer):
                return buffer[pos]
            if not self._more():
                return ""

    def _where(self) -> str:
        return f"ký tự thứ {fmt_int(self.consumed + self.pos + 1)}"

    def _expect(self, allowed: str, what: str) -> str:
        found = self._char()
        if not found or found not in allowed:
            shown = f"«{found}»" if found else "hết tệp"
            raise _Broken(f"Tệp JSON hỏng ở {self._where()}: cần {what}, gặp {shown}")
        self.pos += 1
        return found

    def _value(self) -> Any:
        self._char()
        while True:
            try:
                value, end = self.json.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buffer) - self.pos > MAX_RECORD or not self._more():
                    raise _Broken(f"Tệp JSON hỏng ở ký tự thứ {fmt_int(self.consumed + exc.pos + 1)}: "
                                  f"{_json_reason(exc.msg)}") from None
                continue
            # A number ending exactly at the buffer's end may go on in the next chunk.
            if end == len(self.buffer) and self._more():
                continue
            self.pos = end
            return value

    def elements(self) -> Iterator[Any]:
        opening = self._expect("{[", "một mảng [ … ] hoặc một đối tượng { … } (gói DongBoHoSoMC)")
        if opening == "[":
            yield from self._array()
        else:
            self.is_envelope = True
            seen_data = False
            if self._char() == "}":
                self.pos += 1
            else:
                while True:
                    key = self._value()
                    if not isinstance(key, str):
                        raise _Broken(f"Tệp JSON hỏng ở {self._where()}: tên khóa phải là chuỗi")
                    self._expect(":", "dấu «:»")
                    if key == "data":
                        self._expect("[", "mảng «data» [ … ]")
                        seen_data = True
                        yield from self._array()
                    else:
                        self.envelope[key] = self._value()
                    if self._expect(",}", "dấu «,» hoặc «}»") == "}":
                        break
            if not seen_data:
                raise _Broken("Gói không có mảng «data»: cần {\"service\": …, \"madonvi\": …, \"data\": [ … ]}")
        if self._char():
            raise _Broken(f"Tệp JSON hỏng ở {self._where()}: còn dữ liệu sau khi mảng đã đóng")

    def _array(self) -> Iterator[Any]:
        if self._char() == "]":
            self.pos += 1
            return
        while True:
            yield self._value()
            if self._expect(",]", "dấu «,» hoặc «]»") == "]":
                return


class _Irregular(Exception):
    """The fast reader met something only the element-by-element reader describes well (broken JSON,
    a ``data`` that is not an array, …): the import starts again with :class:`_JsonStream`."""


# The bytes that make the structure of JSON: , : [ ] { } (outside strings).
_MARKS = np.array([44, 58, 91, 93, 123, 125], dtype=np.uint8)
_DEPTH_STEP = np.zeros(256, dtype=np.int64)
_DEPTH_STEP[[91, 123]], _DEPTH_STEP[[93, 125]] = 1, -1
_SPACE = b" \t\r\n"


def _structure(buffer: bytes, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the structural bytes of ``buffer`` outside strings, the bytes, and the nesting depth
    after each, for a buffer that starts outside any string at ``depth``. Vectorised: quotes preceded by
    an odd run of backslashes are escaped; a byte lies inside a string when an odd number of the other
    quotes precede it."""
    data = np.frombuffer(buffer, dtype=np.uint8)
    quotes = np.flatnonzero(data == 34)
    if quotes.size:
        after_backslash = quotes[quotes > 0]
        after_backslash = after_backslash[data[after_backslash - 1] == 92]
        if after_backslash.size:
            keep = np.ones(quotes.size, dtype=bool)
            for at in after_backslash.tolist():
                run = at - 1
                while run >= 0 and data[run] == 92:
                    run -= 1
                if (at - 1 - run) % 2:
                    keep[np.searchsorted(quotes, at)] = False
            quotes = quotes[keep]
    marks = np.flatnonzero(np.isin(data, _MARKS, kind="table"))
    marks = marks[(np.searchsorted(quotes, marks) & 1) == 0]
    chars = data[marks]
    return marks, chars, depth + np.cumsum(_DEPTH_STEP[chars])


def _json_text(piece: bytes) -> Any:
    try:
        return json.loads(piece.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Irregular from None


class _FastStream:
    """The top-level elements of a national file in slices of many, each decoded by msgspec in one call.

    The file is read in :data:`CHUNK` byte blocks. A slice ends before the last record that starts in the
    block, found by the bytes that open the first record (``{"MaHoSo"``, learnt from the file), and is
    decoded as ``[`` + slice + ``]`` into :data:`_Record` structs: a slice that decodes is whole records
    by construction. When the guess is wrong, or the file has no such opening, the exact structure of
    the block (:func:`_structure`) gives the cut. Anything else irregular raises :class:`_Irregular`.
    Same interface as :class:`_JsonStream`; it yields ``("typed", structs)`` or ``("plain", objects)``.
    """

    def __init__(self, handle: IO[bytes]):
        self.handle = handle
        self.buffer = b""
        self.eof = False
        self.envelope: dict[str, Any] = {}
        self.is_envelope = False
        self.typed = msgspec.json.Decoder(list[_Record])
        self.plain = msgspec.json.Decoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        data = self.handle.read(CHUNK)
        if not data:
            self.eof = True
            return False
        self.buffer += data
        return True

    def _fill(self, size: int) -> None:
        while len(self.buffer) < size and self._more():
            pass

    def elements(self) -> Iterator[tuple[str, list]]:
        self._fill(4)
        if self.buffer.startswith(codecs.BOM_UTF8):
            self.buffer = self.buffer[3:]
        while True:
            start = len(self.buffer) - len(self.buffer.lstrip(_SPACE))
            if start < len(self.buffer) or not self._more():
                break
        opening = self.buffer[start:start + 1]
        if opening == b"[":
            self.buffer = self.buffer[start + 1:]
            yield from self._array(1)
            if self.buffer.strip(_SPACE) or self._more():
                raise _Irregular
            return
        if opening != b"{":
            raise _Irregular
        self.is_envelope = True
        self.buffer = self.buffer[start + 1:]
        self._members(stop_at_data=True)
        yield from self._array(2)
        self._members(stop_at_data=False)

    def _members(self, stop_at_data: bool) -> None:
        """Envelope members (``"key": value``) up to ``"data": [`` (the buffer then starts after ``[``), or,
        after the data array (a comma first), up to the closing brace and the end of the file."""
        while True:
            marks, chars, depths = _structure(self.buffer, 1)
            if self._parse_members(marks, chars, depths, stop_at_data):
                return
            if len(self.buffer) > MAX_RECORD or not self._more():
                raise _Irregular

    def _parse_members(self, marks: np.ndarray, chars: np.ndarray, depths: np.ndarray, stop_at_data: bool) -> bool:
        buffer, found = self.buffer, {}
        state, start, key = ("key" if stop_at_data else "comma"), 0, ""
        for i in range(len(marks)):
            mark, char, depth = int(marks[i]), int(chars[i]), int(depths[i])
            if state == "comma":
                if buffer[:mark].strip(_SPACE):
                    raise _Irregular
                if char == 44 and depth == 1:
                    state, start = "key", mark + 1
                    continue
                if char == 125 and depth == 0:
                    return self._end(mark + 1, found)
                raise _Irregular
            if state == "key":
                if char != 58 or depth != 1:
                    raise _Irregular
                key = _json_text(buffer[start:mark])
                if not isinstance(key, str):
                    raise _Irregular
                state, start = ("data" if key == "data" else "value"), mark + 1
                continue
            if state == "data":
                if not stop_at_data or char != 91 or depth != 2 or buffer[start:mark].strip(_SPACE):
                    raise _Irregular
                self.envelope.update(found)
                self.buffer = buffer[mark + 1:]
                return True
            # a value: it ends at the next comma of the envelope or at its closing brace
            if (char == 44 and depth == 1) or (char == 125 and depth == 0):
                found[key] = _json_text(buffer[start:mark])
                if char == 44:
                    state, start = "key", mark + 1
                    continue
                if stop_at_data:
                    raise _Irregular  # no data array: the reader says so
                return self._end(mark + 1, found)
        return False

    def _end(self, after: int, found: dict) -> bool:
        """The envelope closed at ``after``: only white space may follow, to the end of the file."""
        while self._more():
            pass
        if self.buffer[after:].strip(_SPACE):
            raise _Irregular
        self.envelope.update(found)
        self.buffer = b""
        return True

    def _array(self, depth: int) -> Iterator[tuple[str, list]]:
        """The elements of the array whose ``[`` was just consumed; the buffer then holds what follows ``]``."""
        opening: bytes | None = None  # the bytes that open every record, learnt from the first
        first = True
        while True:
            if not self.eof:
                self._more()
            cut = -1
            if opening is not None and not self.eof:
                start = self.buffer.rfind(opening, 1)
                if start > 0:
                    comma = len(self.buffer[:start].rstrip(_SPACE)) - 1
                    if comma > 0 and self.buffer[comma] == 44:
                        cut = comma
            closed = False
            decoded = self._decode(self.buffer[:cut], first) if cut > 0 else None
            if decoded is None:
                cut, closed = self._exact_cut(depth)
                if cut < 0:
                    if self.eof or len(self.buffer) > MAX_RECORD:
                        raise _Irregular
                    continue
                decoded = self._decode(self.buffer[:cut], first)
                if decoded is None:
                    raise _Irregular
            if decoded[1]:
                if opening is None and decoded[0] == "typed":
                    opening = self._opening(self.buffer[:cut])
                first = False
                yield decoded
            self.buffer = self.buffer[cut + 1:]
            if closed:
                return

    def _decode(self, piece: bytes, first: bool) -> tuple[str, list] | None:
        """The elements of ``piece`` (between two separators), or None when they are not whole JSON."""
        if not piece.strip(_SPACE):
            return ("plain", []) if first else None  # [] is an empty array; [1,,2] is broken
        body = b"[" + piece + b"]"
        try:
            records = self.typed.decode(body)
            unset = msgspec.UNSET
            if all(r.TrangThaiHoSo is not unset or r.NgayTiepNhan is not unset for r in records):
                return "typed", records
            # progress steps among them: as dicts, whose keys tell the kinds apart
        except msgspec.ValidationError:
            pass  # a list where a string belongs, a number as a record…: as dicts, checked one by one
        except msgspec.DecodeError:
            return None
        try:
            return "plain", self.plain.decode(body)
        except msgspec.DecodeError:
            return None

    def _exact_cut(self, depth: int) -> tuple[int, bool]:
        """The last separator at the array's level in the buffer, or its closing bracket; -1 if none."""
        marks, chars, depths = _structure(self.buffer, depth)
        closing = np.flatnonzero((depths == depth - 1) & (chars == 93))
        if closing.size:
            return int(marks[closing[0]]), True
        if np.any(depths < depth):
            raise _Irregular
        separators = np.flatnonzero((depths == depth) & (chars == 44))
        return (int(marks[separators[-1]]), False) if separators.size else (-1, False)

    @staticmethod
    def _opening(piece: bytes) -> bytes | None:
        """``{`` and the first key of the first record, as written (``{"MaHoSo"``)."""
        text = piece.lstrip(_SPACE)
        if not text.startswith(b"{"):
            return None
        quote = len(text) - len(text[1:].lstrip(_SPACE))
        if text[quote:quote + 1] != b'"':
            return None
        end = text.find(b'"', quote + 1)
        if end < 0 or b"\\" in text[quote:end]:
            return None
        return text[:end + 1]


def _json_reason(message: str) -> str:
    reasons = {"Expecting value": "thiếu giá trị", "Unterminated string starting at": "chuỗi không được đóng",
               "Expecting ',' delimiter": "thiếu dấu phẩy", "Expecting property name enclosed in double quotes":
               "cần tên khóa trong ngoặc kép", "Extra data": "thừa dữ liệu", "Invalid control character at":
               "ký tự điều khiển trong chuỗi", "Expecting ':' delimiter": "thiếu dấu hai chấm"}
    return reasons.get(message, message)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

def _text(value: Any) -> Any:
    """A scalar as the text the sender meant: JSON strings or numbers alike (``"2"`` and ``2``)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return NOT_SCALAR


def parse_times(texts: pd.Series, iso: bool = False) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``yyyyMMddHHmmss`` local times; returns (datetime64 values, mask of malformed text, mask of
    14 digits that name no moment). With ``iso``, ISO 8601 is accepted too (a HoSoBoSung quirk,
    dvcqg-sync.md §2).

    The 14 digits are read by arithmetic on their bytes (a national file has millions of them; pandas'
    strptime took a fifth of the import), with pandas' rules: year 0, a month, day, hour or minute out
    of range names no moment; seconds 60 and 61 run into the next minute."""
    given = (texts != "").to_numpy(dtype=bool)
    digits = texts.str.fullmatch(r"[0-9]{14}").to_numpy(dtype=bool, na_value=False) & given
    moments = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[us]")
    if digits.any():
        moments[digits] = _digit_times(texts[digits])
    values = pd.Series(moments, index=texts.index)
    if iso:
        other = given & ~digits
        if other.any():
            parsed = pd.to_datetime(texts[other], format="ISO8601", errors="coerce")
            # A zone, if any, is dropped: the local time as written (the sender's zone is Vietnam's).
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_localize(None)
            values[other] = parsed
            digits[other] = parsed.notna().to_numpy()
    values = values.astype("datetime64[us]")
    malformed = pd.Series(given & ~digits, index=texts.index)
    return values, malformed, pd.Series(digits & values.isna().to_numpy(), index=texts.index)


def _ascii_grid(texts: pd.Series, width: int) -> np.ndarray:
    """Texts of exactly ``width`` ASCII characters as a (rows, width) byte matrix, without Python strings."""
    array = texts.array
    cells = array._pa_array.combine_chunks() if hasattr(array, "_pa_array") else pa.array(
        texts.to_numpy(dtype=object), type=pa.string())
    if cells.null_count:
        cells = pc.fill_null(cells, "")
    wide = pa.types.is_large_string(cells.type) or pa.types.is_large_binary(cells.type)
    offsets = np.frombuffer(cells.buffers()[1], dtype=np.int64 if wide else np.int32)[
        cells.offset:cells.offset + len(cells) + 1]
    data = np.frombuffer(cells.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    return data.reshape(-1, width)


def _digit_times(texts: pd.Series) -> np.ndarray:
    """Texts of exactly 14 ASCII digits → datetime64[us] (NaT where no such moment exists)."""
    grid = _ascii_grid(texts, 14).astype(np.int64) - 48

    def number(first: int, last: int) -> np.ndarray:
        return grid[:, first:last] @ (10 ** np.arange(last - first - 1, -1, -1))

    year, month, day = number(0, 4), number(4, 6), number(6, 8)
    hour, minute, second = number(8, 10), number(10, 12), number(12, 14)
    ok = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second <= 61)
    first = (np.where(ok, year, 1970) - 1970) * 12 + np.where(ok, month, 1) - 1
    start = first.astype("datetime64[M]").astype("datetime64[D]")
    length = ((first + 1).astype("datetime64[M]").astype("datetime64[D]") - start).astype(np.int64)
    ok &= day <= length
    out = (start.astype("datetime64[us]") + ((np.where(ok, day, 1) - 1) * 86400 + hour * 3600 + minute * 60 + second)
           .astype("timedelta64[s]"))
    out[~ok] = np.datetime64("NaT")
    return out


# --------------------------------------------------------------------------------------------
# Pass 1: records → checked, prepared batches
# --------------------------------------------------------------------------------------------

class _Problems:
    """Collects refused records (at most MAX_PROBLEMS listed) and counts them all."""

    def __init__(self) -> None:
        self.items: list[tuple[int, Problem]] = []  # (record index, problem)
        self.records: set[int] = set()
        self.more = 0

    def add(self, index: int, code: str, column: str, message: str, value: Any = "") -> None:
        self.records.add(index)
        if len(self.items) >= MAX_PROBLEMS:
            self.more += 1
            return
        label = f"{RECORD}{index}" + (f" (MaHoSo {code})" if code else "")
        self.items.append((index, Problem(label, column, message, "" if value is None else str(value)[:200],
                                          {"Bản ghi": str(index), "MaHoSo": code})))

    def __bool__(self) -> bool:
        return bool(self.records)


@dataclass
class _Catalogue:
    """What the file says about agencies, fields and procedures (a few thousand entries at most)."""

    agency_names: dict[str, str] = field(default_factory=dict)  # MaHoSo prefix or "" → DonViXuLy
    fields: dict[str, None] = field(default_factory=dict)  # field names in order of appearance
    # (MaHoSo prefix, MaTTHC) → (TenTTHC, field name), the first the file gives
    procedures: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


class _Batch:
    """Up to BATCH records of one kind as parsed, with their indexes in the file; the columns are taken
    from them together (a comprehension per field costs a fraction of a loop per record)."""

    typed = False

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.index: list[int] = []
        self.records: list = []

    def __len__(self) -> int:
        return len(self.index)

    def column(self, key: str) -> list:
        """The field's text in every record (:func:`_text`; plain strings, by far the most, as they are)."""
        return [v if v.__class__ is str else _text(v) for v in [r.get(key) for r in self.records]]

    def columns(self) -> dict[str, list]:
        return {key: self.column(key) for key in self.keys}

    @staticmethod
    def get(record: Any, key: str) -> Any:
        return record.get(key)


class _TypedBatch(_Batch):
    """Dossier records decoded by msgspec into :data:`_Record` structs (no dict per record): every scalar
    is a string, a number, a boolean or null, every list a list of objects, or the decoder refused the
    slice and it came as dicts (:class:`_Batch`)."""

    typed = True

    def columns(self) -> dict[str, Any]:
        """Arrow text per field, taken from all records at once; a column holding numbers or booleans
        goes through :func:`_text` like a dict's."""
        out: dict[str, Any] = {}
        values = zip(*map(attrgetter(*self.keys), self.records)) if self.records else [[] for _ in self.keys]
        for key, column in zip(self.keys, values):
            try:
                cells = pa.array(column, type=pa.string())
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                cells = pa.array([v if v.__class__ is str else ("" if v is msgspec.UNSET else _text(v))
                                  for v in column], type=pa.string())
            out[key] = pc.fill_null(cells, "") if cells.null_count else cells
        return out

    @staticmethod
    def get(record: Any, key: str) -> Any:
        return getattr(record, key)


def _flag(value: Any) -> bool:
    return value == "1" or (value.__class__ is not str and _text(value) in ("1", "true", "True"))


def _nested(records: list[dict], indexes: list[int], problems: _Problems) -> tuple[list[tuple], list[tuple]]:
    """What each dossier's lists say, as counts: (components, digitised, reused, from store, fee lines,
    fee total or None, e-results, first e-result link, national databases); and the supplement rounds
    as (position of the record, round)."""
    out, rounds = [], []
    empty = (0, 0, 0, 0, 0, None, 0, None, None)
    for position, record in enumerate(records):
        files = record.get("TaiLieuNop") or ()
        fees = record.get("DanhSachLePhi") or ()
        results = record.get("DanhSachGiayToKetQua") or ()
        connections = record.get("DSKetNoiCSDL") or ()
        name = "TaiLieuNop"
        try:
            components = digitised = reused = from_store = 0
            for item in files:
                if _flag(item.get("IsDeleted")):
                    continue
                components += 1
                digitised += _flag(item.get("DuocSoHoa"))
                # DuocTaiSuDung "1" and "2" are two modes of re-use (dvcqg-sync.md §3.1)
                reused += _text(item.get("DuocTaiSuDung")) in ("1", "2")
                from_store += _flag(item.get("DuocLayTuKhoDMQG"))
            name = "DanhSachLePhi"
            total = 0
            for item in fees:
                amount = _text(item.get("Gia"))
                try:
                    value = int(amount or "0")
                except (ValueError, TypeError):
                    value = -1
                if value < 0:
                    problems.add(indexes[position], _code_of(record), "DanhSachLePhi.Gia",
                                 f"số tiền «{amount}» không phải số nguyên đồng không âm", amount)
                total += value
            name = "DanhSachGiayToKetQua"
            e_results, first_link = 0, None
            for item in results:
                link = _text(item.get("DuongDanTepTinKetQua"))
                # F766 4.1: an electronic result carries a result code and a link
                if _text(item.get("MaGiayToKetQua")) and link and link is not NOT_SCALAR:
                    e_results += 1
                    first_link = first_link or link
            name = "DSKetNoiCSDL"
            if len(connections) == 1:  # the usual case (TD always sends [{"MaCSDL": "7"}])
                databases = str(_text(connections[0].get("MaCSDL")))
            else:
                databases = ",".join(dict.fromkeys(str(_text(c.get("MaCSDL"))) for c in connections
                                                   if _text(c.get("MaCSDL"))))
            name = "DanhSachHoSoBoSung"
            for one in record.get("DanhSachHoSoBoSung") or ():
                one.get("NgayBoSung")
                rounds.append((position, one))
        except (AttributeError, TypeError):  # a list of something else than objects, or no list
            problems.add(indexes[position], _code_of(record), name, "phải là một mảng các đối tượng { … }")
            out.append(empty)
            continue
        if len(databases) > 255:
            problems.add(indexes[position], _code_of(record), "DSKetNoiCSDL", "danh sách mã CSDL dài quá 255 ký tự",
                         databases)
        out.append((components, digitised, reused, from_store, len(fees), total if fees else None, e_results,
                    first_link, databases or None))
    return out, rounds


NESTED_COLUMNS = ("components", "components_digitised", "components_reused", "components_from_store", "fee_lines",
                  "fee_total", "e_results", "e_result_url", "db_connections")


def _flags(values: list) -> np.ndarray:
    """:func:`_flag` of every value (Arrow when they are all strings)."""
    try:
        cells = pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return np.fromiter(map(_flag, values), dtype=bool, count=len(values))
    return pc.fill_null(pc.equal(cells, "1"), False).to_numpy(zero_copy_only=False)


def _texts(values: list) -> pa.Array:
    """:func:`_text` of every value as Arrow text (never NOT_SCALAR: a typed record holds none)."""
    try:
        cells = pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        cells = pa.array([_text(v) for v in values], type=pa.string())
    return pc.utf8_trim_whitespace(pc.fill_null(cells, "") if cells.null_count else cells)


def _nested_typed(records: list, indexes: list[int], problems: _Problems) -> tuple[dict[str, Any], list[tuple]]:
    """:func:`_nested` for typed records, field by field over the items of the whole batch."""
    n = len(records)
    lists = zip(*map(attrgetter("TaiLieuNop", "DanhSachLePhi", "DanhSachGiayToKetQua", "DSKetNoiCSDL",
                                "DanhSachHoSoBoSung"), records)) if n else [()] * 5
    files, fees, results, connections, rounds_of = (list(column) for column in lists)

    def sizes(column: list) -> np.ndarray:
        return np.fromiter([len(x) if x else 0 for x in column], dtype=np.int64, count=n)

    def per_record(owners: np.ndarray) -> np.ndarray:
        return np.bincount(owners, minlength=n).astype(np.int64)

    owner = np.repeat(np.arange(n), sizes(files))
    flat = list(chain.from_iterable(x for x in files if x))
    if flat:
        deleted, digitised, reused, from_store = (list(c) for c in zip(*map(attrgetter(
            "IsDeleted", "DuocSoHoa", "DuocTaiSuDung", "DuocLayTuKhoDMQG"), flat)))
        kept = ~_flags(deleted)
        # DuocTaiSuDung "1" and "2" are two modes of re-use (dvcqg-sync.md §3.1)
        reuse = pc.is_in(_texts(reused), value_set=pa.array(["1", "2"])).to_numpy(zero_copy_only=False)
        columns = {"components": per_record(owner[kept]),
                   "components_digitised": per_record(owner[kept & _flags(digitised)]),
                   "components_reused": per_record(owner[kept & reuse]),
                   "components_from_store": per_record(owner[kept & _flags(from_store)])}
    else:
        columns = {name: np.zeros(n, dtype=np.int64) for name in NESTED_COLUMNS[:4]}

    fee_lines = sizes(fees)
    fee_total: list = [None] * n
    for position in np.flatnonzero(fee_lines).tolist():
        total = 0
        for item in fees[position]:
            amount = _text(item.Gia)
            try:
                value = int(amount or "0")
            except (ValueError, TypeError):
                value = -1
            if value < 0:
                problems.add(indexes[position], _code_of(records[position]), "DanhSachLePhi.Gia",
                             f"số tiền «{amount}» không phải số nguyên đồng không âm", amount)
            total += value
        fee_total[position] = total
    columns["fee_lines"], columns["fee_total"] = fee_lines, fee_total

    e_results = np.zeros(n, dtype=np.int64)
    first_link: list = [None] * n
    for position in [at for at, x in enumerate(results) if x]:
        for item in results[position]:
            link = _text(item.DuongDanTepTinKetQua)
            # F766 4.1: an electronic result carries a result code and a link
            if _text(item.MaGiayToKetQua) and link:
                e_results[position] += 1
                first_link[position] = first_link[position] or link
    columns["e_results"], columns["e_result_url"] = e_results, first_link

    single = sizes(connections) == 1
    databases = np.full(n, None, dtype=object)
    too_long = np.zeros(n, dtype=bool)
    if single.any():
        # the usual case (TD always sends [{"MaCSDL": "7"}])
        at = np.flatnonzero(single)
        codes = _texts([connections[position][0].MaCSDL for position in at.tolist()])
        databases[at] = codes.to_numpy(zero_copy_only=False)
        too_long[at] = pc.greater(pc.utf8_length(codes), 255).to_numpy(zero_copy_only=False)
    for position in np.flatnonzero(~single).tolist():
        databases[position] = ",".join(dict.fromkeys(str(_text(c.MaCSDL)) for c in connections[position] or ()
                                                     if _text(c.MaCSDL)))
        too_long[position] = len(databases[position]) > 255
    for position in np.flatnonzero(too_long).tolist():
        problems.add(indexes[position], _code_of(records[position]), "DSKetNoiCSDL",
                     "danh sách mã CSDL dài quá 255 ký tự", databases[position])
    databases[databases == ""] = None
    columns["db_connections"] = databases

    rounds = [(position, one) for position in [at for at, x in enumerate(rounds_of) if x]
              for one in rounds_of[position]]
    return columns, rounds


def _read_records(stream: _JsonStream, problems: _Problems, catalogue: _Catalogue,
                  spool: IO[bytes], result: NationalImportResult) -> None:
    """Pass 1: read, check and prepare every record; spool the prepared batches while none is refused.
    The element-by-element reader's records go through :func:`_read_records_fast` as slices of one."""
    one_by_one = SimpleNamespace(elements=lambda: (("plain", [record]) for record in stream.elements()))
    _read_records_fast(one_by_one, problems, catalogue, spool, result)


def _kind_of(record: Any, index: int, problems: _Problems) -> str | None:
    """"dossier" (DongBoHoSoMC), "step" (CapNhatTienDoHoSoMC), or None once the record is refused."""
    if record.__class__ is not dict:
        problems.add(index, "", "", "bản ghi phải là một đối tượng { … }")
        return None
    if "TrangThaiHoSo" in record or "NgayTiepNhan" in record:
        return "dossier"
    if "ThoiDiemXuLy" in record:
        return "step"
    problems.add(index, _code_of(record), "", "không nhận ra bản ghi: hồ sơ cần TrangThaiHoSo và NgayTiepNhan "
                                              "(DongBoHoSoMC), bước xử lý cần ThoiDiemXuLy (CapNhatTienDoHoSoMC)")
    return None


# Full garbage collections while reading, one every so many batches (see _collections_paused).
COLLECT_EVERY = 8


@contextlib.contextmanager
def _collections_paused() -> Iterator[None]:
    """The cyclic garbage collector off while pass 1 runs, restored after.

    A batch holds a list object for every nested array of every record (TaiLieuNop, DanhSachLePhi, …):
    hundreds of thousands of tracked objects that the collector, triggered by the allocations of the
    columns taken from them, walked again and again for nothing (they are freed by reference counting
    with their batch). Measured on 25.000 records: decode 0,20 → 0,10 s, columns 0,29 → 0,07 s, nested
    lists 0,30 → 0,12 s. Pass 1 collects every :data:`COLLECT_EVERY` batches, when the next batch
    is still small, so a cycle made by a library cannot pile up. The switch is the process's: in the
    dashboard, other sessions' threads run without the collector meanwhile, and those collections free
    what they leave too. Two imports at once leave it on once both are done (the first to start
    restores it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_records_fast(stream: _FastStream | SimpleNamespace, problems: _Problems, catalogue: _Catalogue,
                       spool: IO[bytes], result: NationalImportResult) -> None:
    """:func:`_read_records` over the slices of :class:`_FastStream`: a slice of typed dossiers goes to
    the batch whole; a slice as dicts (or holding progress steps) is sorted record by record as before."""
    with _collections_paused():
        _read_batches(stream, problems, catalogue, spool, result)


def _read_batches(stream: _FastStream | SimpleNamespace, problems: _Problems, catalogue: _Catalogue,
                  spool: IO[bytes], result: NationalImportResult) -> None:
    flushed = 0

    def flush(batch: _Batch) -> None:
        nonlocal flushed
        _flush(batch, problems, catalogue, spool, result)
        flushed += 1
        if flushed % COLLECT_EVERY == 0:
            gc.collect()

    dossiers: _Batch = _TypedBatch(DOSSIER_SCALARS)
    steps = _Batch(STEP_SCALARS)
    index = 0
    for kind, records in stream.elements():
        if kind == "typed":
            if not dossiers.typed:
                if len(dossiers):
                    flush(dossiers)
                dossiers = _TypedBatch(DOSSIER_SCALARS)
            position = 0
            while position < len(records):
                take = min(len(records) - position, BATCH - len(dossiers))
                dossiers.index.extend(range(index + 1, index + take + 1))
                dossiers.records.extend(records[position:position + take])
                index, position = index + take, position + take
                if len(dossiers) >= BATCH:
                    flush(dossiers)
                    dossiers = _TypedBatch(DOSSIER_SCALARS)
            continue
        for record in records:
            index += 1
            kind = _kind_of(record, index, problems)
            if kind is None:
                continue
            if kind == "dossier" and dossiers.typed:
                if len(dossiers):
                    flush(dossiers)
                dossiers = _Batch(DOSSIER_SCALARS)
            batch = dossiers if kind == "dossier" else steps
            batch.index.append(index)
            batch.records.append(record)
            if len(batch.index) >= BATCH:
                flush(batch)
                if batch is dossiers:
                    dossiers = _TypedBatch(DOSSIER_SCALARS)
                else:
                    steps = _Batch(STEP_SCALARS)
    result.rows_read = index
    for batch in (dossiers, steps):
        if len(batch):
            flush(batch)


def _code_of(record: Any) -> str:
    code = _text(record.get("MaHoSo") if record.__class__ is dict else getattr(record, "MaHoSo", None))
    return code if isinstance(code, str) else ""


def _flush(batch, problems: _Problems, catalogue: _Catalogue, spool: IO[bytes],
           result: NationalImportResult) -> None:
    if batch.keys is DOSSIER_SCALARS:
        prepared = _check_dossiers(batch, problems, catalogue)
        result.rows_valid += len(prepared[0])
        result.supplement_rounds += len(prepared[1])
        kind = "dossiers"
    else:
        prepared = _check_steps(batch, problems)
        result.progress_steps += len(prepared)
        kind = "steps"
    if not problems:  # once anything is refused nothing is written: no need to keep the rows
        if isinstance(spool, _Pipe):
            spool.put(kind, prepared, catalogue)
        else:
            pickle.dump((kind, prepared), spool, protocol=pickle.HIGHEST_PROTOCOL)


class _Columns:
    """The text columns of a batch, with the checks that refuse records."""

    def __init__(self, batch: _Batch, problems: _Problems):
        self.index = pd.Index(batch.index)
        self.problems = problems
        self.text: dict[str, pd.Series] = {}
        self.bad = np.zeros(len(batch), dtype=bool)
        columns = batch.columns()
        if batch.typed:  # Arrow text already, every value a scalar
            for key, cells in columns.items():
                self.text[key] = pd.Series(pd.arrays.ArrowStringArray(pc.utf8_trim_whitespace(cells)), index=self.index)
            self.codes = self.text["MaHoSo"]
            return
        self.codes = pd.Series([c if c is not NOT_SCALAR else "" for c in columns["MaHoSo"]], index=self.index,
                               dtype=object)
        for key, values in columns.items():
            wrong = [at for at, v in enumerate(values) if v is NOT_SCALAR]
            if wrong:
                for at in wrong:
                    values[at] = ""
                mask = np.zeros(len(values), dtype=bool)
                mask[wrong] = True
                self.add(mask, key, lambda v: "phải là chuỗi hoặc số, không phải mảng hay đối tượng",
                         values=pd.Series([""] * len(values)))
            # Arrow-backed text: the checks below (fullmatch, len, isin) run in C.
            cells = pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))
            self.text[key] = pd.Series(pd.arrays.ArrowStringArray(cells), index=self.index)

    def add(self, mask, key: str, message, values: pd.Series | None = None) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        shown = self.text.get(key) if values is None else values
        for at in np.flatnonzero(mask):
            value = "" if shown is None else shown.iloc[at]
            self.problems.add(int(self.index[at]), self.codes.iloc[at], key, message(value), value)
        self.bad |= mask

    def codes_in(self, key: str, table: dict, what: str) -> pd.Series:
        """The mapped values of a coded field; refuses a code not in ``table``."""
        text = self.text[key]
        # Looked up in Arrow (pandas' map and isin walk an Arrow column one Python value at a time).
        found = pc.index_in(_arrow(text), value_set=pa.array(list(table), type=pa.string()))
        known = found.is_valid().to_numpy(zero_copy_only=False)
        allowed = ", ".join(f"«{c}»" for c in table if c)
        self.add(~known, key, lambda v: f"{what} «{v}» không hợp lệ (dùng {allowed})")
        values = np.array([*table.values(), None], dtype=object)
        return pd.Series(values[pc.fill_null(found, len(table)).to_numpy(zero_copy_only=False)], index=text.index)

    def times(self, keys: tuple[str, ...], iso: bool = False) -> dict[str, pd.Series]:
        out = {}
        for key in keys:
            values, malformed, impossible = parse_times(self.text[key], iso)
            self.add(malformed.to_numpy(), key, lambda v: f"thời điểm «{v}» không đúng dạng ({TIME_HINT})")
            self.add(impossible.to_numpy(), key, lambda v: f"thời điểm «{v}» không tồn tại")
            out[key] = values
        return out

    def lengths(self) -> None:
        for key, limit in MAX_LENGTH.items():
            if key in self.text:
                self.add((self.text[key].str.len() > limit).to_numpy(), key,
                         lambda v, limit=limit: f"dài {len(v)} ký tự, quá {limit} ký tự cho phép")


def _arrow(text: pd.Series) -> pa.Array:
    """The Arrow array behind a text column (built when the column is not Arrow-backed)."""
    if hasattr(text.array, "_pa_array"):
        return text.array._pa_array.combine_chunks()
    return pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def _agency_key(codes: pd.Series) -> pd.Series:
    """The MaHoSo prefix that names the agency (``000.00.99.H00-220404-00101`` → ``000.00.99.H00``)."""
    cells = _arrow(codes)
    prefix = pc.list_element(pc.split_pattern(cells, pattern="-", max_splits=1), 0)
    prefix = pc.if_else(pc.match_substring(cells, "-"), prefix, "")
    return pd.Series(pd.arrays.ArrowStringArray(prefix.cast(cells.type)), index=codes.index)


def _check_dossiers(batch: _Batch, problems: _Problems, catalogue: _Catalogue
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The prepared dossier rows and supplement rounds of a batch (refused records left out)."""
    c = _Columns(batch, problems)
    text = c.text
    c.add((text["MaHoSo"] == "").to_numpy(), "MaHoSo", lambda v: "thiếu mã hồ sơ")
    c.lengths()
    status_code = pd.to_numeric(text["TrangThaiHoSo"].where(text["TrangThaiHoSo"].str.fullmatch(r"\d{1,2}"), None),
                                errors="coerce")
    known = status_code.isin(STATUS_OF_CODE.keys()).to_numpy()
    c.add(~known, "TrangThaiHoSo", lambda v: f"mã trạng thái «{v}» không hợp lệ (dùng 1 đến 10)" if v else
          "thiếu mã trạng thái (1 đến 10)")
    status_code = status_code.where(known, 2).astype(int)
    channel = c.codes_in("KenhThucHien", CHANNEL_OF_CODE, "mã kênh thực hiện")
    applicant = c.codes_in("LoaiDoiTuong", {"": None, "1": 1, "2": 2, "3": 3, "4": 4}, "mã loại đối tượng")
    by_post = c.codes_in("HinhThuc", FLAG_OF_CODE, "mã hình thức trả kết quả")
    portal = c.codes_in("NoiNopHoSo", PORTAL_OF_CODE, "mã nơi nộp hồ sơ")
    digitised = c.codes_in("HoSoCoThanhPhanSoHoa", FLAG_OF_CODE, "giá trị")
    vneid = c.codes_in("TaiKhoanDuocXacThucVoiVNeID", FLAG_OF_CODE, "giá trị")
    paid = c.codes_in("DuocThanhToanTrucTuyen", PAYMENT_OF_CODE, "mã thanh toán trực tuyến")
    times = c.times(DOSSIER_TIMES)

    ended = status_code.isin(ENDED).to_numpy()
    end = times["NgayKetThucXuLy"]
    no_end = end.isna().to_numpy() & (text["NgayKetThucXuLy"] == "").to_numpy()
    c.add(status_code.isin(END_REQUIRED).to_numpy() & no_end, "NgayKetThucXuLy",
          lambda v: "trạng thái 8, 9 hoặc 10 (đã kết thúc) cần thời điểm kết thúc xử lý")
    code = status_code.to_numpy()
    status = pd.Series(_STATUS_NAMES[code], index=c.index)
    intake = pd.Series(_INTAKE_NAMES[code], index=c.index)
    withdrawal_requested = (status_code == 7).to_numpy() & no_end
    status = status.where(~withdrawal_requested, "normal")
    accepted = (intake == "accepted").to_numpy()
    # domain.md §4b: received at NgayTiepNhan, else NgayNopHoSo; a record never accepted may have
    # neither and is then placed at its refusal.
    received = times["NgayTiepNhan"].fillna(times["NgayNopHoSo"])
    received = received.where(received.notna() | accepted, times["NgayTuChoi"])
    missing = received.isna().to_numpy() & (text["NgayTiepNhan"] == "").to_numpy() \
        & (text["NgayNopHoSo"] == "").to_numpy()
    c.add(missing, "NgayTiepNhan", lambda v: "thiếu thời điểm tiếp nhận (NgayTiepNhan hoặc NgayNopHoSo)")
    resolved = end.where(ended & ~withdrawal_requested, pd.NaT)
    before = (resolved < received).to_numpy()
    c.add(before, "NgayKetThucXuLy",
          lambda v: "kết thúc xử lý trước khi tiếp nhận hồ sơ", values=text["NgayKetThucXuLy"])

    if batch.typed:
        counts, batch_rounds = _nested_typed(batch.records, batch.index, problems)
    else:
        rows, batch_rounds = _nested(batch.records, batch.index, problems)
        counts = dict(zip(NESTED_COLUMNS, map(list, zip(*rows)))) if rows else {k: [] for k in NESTED_COLUMNS}
    nested = pd.DataFrame(counts, index=c.index, columns=list(NESTED_COLUMNS))
    rounds = _check_rounds(batch, batch_rounds, c)
    ok = ~c.bad & ~np.isin(c.index, list(problems.records))

    frame = pd.DataFrame({
        "code": text["MaHoSo"], "agency_key": _agency_key(text["MaHoSo"]),
        "procedure_code": text["MaTTHC"].where(text["MaTTHC"] != "", None),
        "field": text["TenLinhVuc"].where(text["TenLinhVuc"] != "", text["MaLinhVuc"]),
        "channel": channel, "status": status, "received_at": received, "due_at": times["NgayHenTra"],
        "resolved_at": resolved, "apology_count": 0,
        "source_status": status_code, "intake": intake, "submitted_at": times["NgayNopHoSo"],
        "refused_at": times["NgayTuChoi"], "result_returned_at": times["NgayTra"],
        "withdrawal_requested": withdrawal_requested, "applicant_type": applicant, "result_by_post": by_post,
        "has_digitised_components": digitised, "paid_online_via": paid, "vneid_authenticated": vneid,
        "filed_on_national_portal": portal,
    }, index=c.index)
    frame = pd.concat([frame, nested], axis=1)
    # Nullable integers stay integers (a column of ints and None would become floats).
    for name in ("applicant_type", "fee_total"):
        frame[name] = frame[name].astype("Int64")
    frame, rounds = frame[ok], rounds[rounds["record"].isin(frame.index[ok])]
    # A later record for the same MaHoSo replaces the earlier one (isUpdating): keep the last.
    last = ~frame["code"].duplicated(keep="last")
    if not last.all():
        rounds = rounds[rounds["record"].isin(frame.index[last])]
        frame = frame[last]
    _remember(catalogue, frame, text)
    return frame, rounds


def _check_rounds(batch: _Batch, batch_rounds: list[tuple], c: _Columns) -> pd.DataFrame:
    """DanhSachHoSoBoSung of the batch: one row per round (``record`` = the dossier's index)."""
    columns = ["record", "requested_at", "supplied_at", "due_before", "due_after"]
    if not batch_rounds:
        return pd.DataFrame(columns=columns)
    records = [batch.index[position] for position, _ in batch_rounds]
    raw = {key: [_text(batch.get(r, key)) for _, r in batch_rounds]
           for key in ("NgayBoSung", "NgayTiepNhanBoSung", "NgayHenTraTruoc", "NgayHenTraMoi")}
    out = pd.DataFrame({"record": records})
    bad = np.zeros(len(records), dtype=bool)
    code_of = dict(zip(records, c.codes.iloc[[position for position, _ in batch_rounds]].tolist()))
    names = {"NgayBoSung": "requested_at", "NgayTiepNhanBoSung": "supplied_at", "NgayHenTraTruoc": "due_before",
             "NgayHenTraMoi": "due_after"}
    for key, name in names.items():
        values = [("" if v is NOT_SCALAR else v) for v in raw[key]]
        texts = pd.Series(values, dtype=object).astype(str)
        parsed, malformed, impossible = parse_times(texts, iso=True)
        wrong = (malformed | impossible).to_numpy()
        if key == "NgayBoSung":
            missing = (texts == "").to_numpy()
            for at in np.flatnonzero(missing):
                c.problems.add(records[at], code_of[records[at]], "DanhSachHoSoBoSung.NgayBoSung",
                               "lượt bổ sung thiếu thời điểm yêu cầu bổ sung")
            bad |= missing
        for at in np.flatnonzero(wrong):
            c.problems.add(records[at], code_of[records[at]], f"DanhSachHoSoBoSung.{key}",
                           f"thời điểm «{texts.iloc[at]}» không đọc được ({TIME_HINT}, hoặc ISO 8601)", texts.iloc[at])
        bad |= wrong
        out[name] = parsed.to_numpy()
    supplied_first = (out["supplied_at"] < out["requested_at"]).to_numpy()
    for at in np.flatnonzero(supplied_first):
        c.problems.add(records[at], code_of[records[at]], "DanhSachHoSoBoSung.NgayTiepNhanBoSung",
                       "nhận bổ sung trước khi yêu cầu bổ sung", raw["NgayTiepNhanBoSung"][at])
    bad |= supplied_first
    if bad.any():
        c.bad |= np.isin(c.index, np.asarray(records)[bad])
    # Rounds in the order they were requested (models.SupplementRound.position).
    out = out.sort_values(["record", "requested_at"], kind="stable")
    out["position"] = out.groupby("record").cumcount() + 1
    return out


def _remember(catalogue: _Catalogue, frame: pd.DataFrame, text: dict[str, pd.Series]) -> None:
    """Agencies, fields and procedures the batch names, first mention wins (a few thousand at most)."""
    rows = pd.DataFrame({"agency": frame["agency_key"], "unit": text["DonViXuLy"].loc[frame.index],
                         "procedure": frame["procedure_code"], "name": text["TenTTHC"].loc[frame.index],
                         "field": frame["field"]})
    for agency, unit in rows.drop_duplicates("agency")[["agency", "unit"]].itertuples(index=False):
        if unit and not catalogue.agency_names.get(agency):
            catalogue.agency_names[agency] = unit
        catalogue.agency_names.setdefault(agency, "")
    for name in rows["field"].unique():
        if name:
            catalogue.fields.setdefault(name, None)
    named = rows[rows["procedure"].notna()].drop_duplicates(["agency", "procedure"])
    for agency, procedure, name, field_name in named[["agency", "procedure", "name", "field"]].itertuples(index=False):
        if (agency, procedure) not in catalogue.procedures or not catalogue.procedures[(agency, procedure)][0]:
            catalogue.procedures[(agency, procedure)] = (name, field_name)


def _check_steps(batch: _Batch, problems: _Problems) -> pd.DataFrame:
    """The prepared progress steps of a batch (refused records left out)."""
    c = _Columns(batch, problems)
    text = c.text
    c.add((text["MaHoSo"] == "").to_numpy(), "MaHoSo", lambda v: "thiếu mã hồ sơ")
    c.lengths()
    times = c.times(STEP_TIMES)
    c.add((text["ThoiDiemXuLy"] == "").to_numpy(), "ThoiDiemXuLy", lambda v: "thiếu thời điểm xử lý")
    state = pd.to_numeric(text["TrangThai"].where(text["TrangThai"].str.fullmatch(r"\d{1,2}"), None),
                          errors="coerce")
    # TD sends 0 for its tags "interoperating" and "posting" (dvcqg-sync.md §4.1).
    wrong = ((text["TrangThai"] != "") & ~state.between(0, 10)).to_numpy()
    c.add(wrong, "TrangThai", lambda v: f"mã trạng thái «{v}» không hợp lệ (dùng 0 đến 10)")
    frame = pd.DataFrame({
        "code": text["MaHoSo"], "at": times["ThoiDiemXuLy"], "status": state.astype("Int64"),
        "unit": text["PhongBanXuLy"], "handler": text["NguoiXuLy"], "handler_title": text["ChucDanh"],
        "content": text["NoiDungXuLy"], "started_at": times["NgayBatDau"],
        "step_due_at": times["NgayKetThucTheoQuyDinh"],
    }, index=c.index)
    ok = ~c.bad & ~np.isin(c.index, list(problems.records))
    return frame[ok]


# --------------------------------------------------------------------------------------------
# Pass 2: one transaction
# --------------------------------------------------------------------------------------------

class _Refused(Exception):
    """Raised inside the writing transaction to roll it back (problems found against the database)."""


def _spooled(spool: IO[bytes]) -> Iterator[tuple[str, Any]]:
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)
        except EOFError:
            return


def _write(conn, spool: IO[bytes], catalogue: _Catalogue, agency: str | None, envelope_agency: str | None,
           problems: _Problems, result: NationalImportResult, fallback: str | None = None) -> None:
    agency_of = _resolve_agencies(conn, catalogue, agency, envelope_agency, result, fallback)
    field_of = _resolve_fields(conn, catalogue, result)
    procedure_of = _resolve_procedures(conn, catalogue, agency_of, result)
    calendar = load_calendar(conn)
    if result.rows_valid:
        # First: it opens SQLite's write transaction before any index is set aside (and the dossier
        # writes move it anyway).
        bump_data_version(conn, dossiers=True)
    with store.dossier_indexes_set_aside(conn, result.rows_valid):
        _write_spooled(conn, spool, agency_of, field_of, procedure_of, calendar, problems, result)
    if problems:
        raise _Refused
    result.added = result.rows_valid - result.updated


def _write_spooled(conn, spool: IO[bytes], agency_of: dict, field_of: dict, procedure_of: dict, calendar,
                   problems: _Problems, result: NationalImportResult) -> None:
    for kind, prepared in _spooled(spool):
        _write_one(conn, kind, prepared, agency_of, field_of, procedure_of, calendar, problems, result)


def _write_one(conn, kind: str, prepared: Any, agency_of: dict, field_of: dict, procedure_of: dict, calendar,
               problems: _Problems, result: NationalImportResult) -> None:
    if kind == "dossiers":
        frame, rounds = prepared
        frame = frame.assign(
            agency_id=frame["agency_key"].map(agency_of).astype("int64"),
            field_id=frame["field"].map(field_of),
            procedure_id=_procedure_id(frame, procedure_of),
        )
        result.updated += store.write_national_dossiers(conn, frame, rounds, calendar)
    else:
        missing = store.write_progress_steps(conn, prepared)
        for index, code in missing:
            problems.add(index, code, "MaHoSo", "không có hồ sơ mã này trong cơ sở dữ liệu hay trong tệp "
                                                 "(bước xử lý cần hồ sơ của nó)", code)


def _procedure_id(frame: pd.DataFrame, procedure_of: dict[tuple[str, str], int | None]) -> pd.Series:
    """Each row's procedure id by (MaHoSo prefix, MaTTHC), None where it has none; looked up in Arrow on a
    joined key (pairs of an Arrow column, made one by one, cost 2,5 s per 2.000.000 rows)."""
    def joined(agencies: pa.Array, codes: pa.Array) -> pa.Array:
        return pc.binary_join_element_wise(agencies.cast(pa.string()), codes.cast(pa.string()), "\x1f")

    if not procedure_of:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    keys = joined(pa.array([k[0] for k in procedure_of], type=pa.string()),
                  pa.array([k[1] for k in procedure_of], type=pa.string()))
    found = pc.index_in(joined(_arrow(frame["agency_key"]), _arrow(frame["procedure_code"])), value_set=keys)
    ids = np.array([*procedure_of.values(), None], dtype=object)
    at = pc.fill_null(found, len(procedure_of)).to_numpy(zero_copy_only=False)
    return pd.Series(ids[at], index=frame.index)


def _scope_problems(conn, spool: IO[bytes], scope: Any, fixed: str | None, chosen: bool, problems: _Problems) -> None:
    """Refuse, record by record, what an account limited to some agencies may not write (as
    ``resolve.check_scoped_rows`` does for a table): a dossier of an agency outside the scope, or of an
    agency not stored yet (an admin creates it first), or without an agency when the account has several;
    a dossier or progress step whose code is stored for another agency (upserts go by code)."""
    allowed = {code.casefold() for code in scope.agencies}
    stored = {code.casefold() for code in conn.execute(select(Agency.code)).scalars()}
    own = [found for found in store.agency_ids(conn, scope.agencies, create=False).values() if found is not None]
    field_of_fixed = "" if chosen else "madonvi"
    for kind, prepared in _spooled(spool):
        frame = prepared[0] if kind == "dossiers" else prepared
        if kind == "dossiers":
            named = pd.Series(fixed, index=frame.index, dtype=object) if fixed else frame["agency_key"].astype(object)
            column = field_of_fixed if fixed else "MaHoSo"
            for index, code, name in zip(frame.index, frame["code"], named):
                if not name:
                    if len(scope.agencies) != 1:
                        problems.add(index, code, "MaHoSo", "chưa rõ cơ quan của hồ sơ (không có madonvi, mã hồ sơ "
                                                            "không có tiền tố cơ quan): chọn cơ quan trước khi nhập")
                elif name.casefold() not in allowed:
                    problems.add(index, code, column, f"cơ quan «{name}» ngoài phạm vi của tài khoản «{scope.username}»: "
                                                      "không được nhập dữ liệu của đơn vị khác", name)
                elif name.casefold() not in stored:
                    problems.add(index, code, column, f"cơ quan «{name}» chưa có trong cơ sở dữ liệu: quản trị viên cần "
                                                      "tạo cơ quan này trước (trang Quản trị hoặc lệnh user add --agency)",
                                 name)
        codes = frame["code"].astype(object)
        foreign = store.existing_dossier_codes(conn, codes[codes != ""], not_of=own)
        if foreign:
            for index, code in zip(frame.index, codes):
                if code in foreign:
                    problems.add(index, code, "MaHoSo", FOREIGN_CODE.format(code), code)


def _resolve_agencies(conn, catalogue: _Catalogue, agency: str | None, envelope_agency: str | None,
                      result: NationalImportResult, fallback: str | None = None) -> dict[str, int]:
    """MaHoSo prefix → agency id: ``--agency``, else the envelope's ``madonvi``, else the prefix, else
    ``fallback`` (an officer's only agency), else the default agency; an agency not yet stored is created
    with the record's DonViXuLy as its name."""
    stored = set(conn.execute(select(Agency.code)).scalars())
    fixed = agency or envelope_agency
    out: dict[str, int] = {}
    for key, unit in catalogue.agency_names.items():
        code = fixed or key or fallback
        if not code:
            out[key] = store.default_agency_id(conn)
            continue
        found = store.agency_ids(conn, [code], create=False)[code]
        if found is None:
            found = store.ensure_agency(conn, code, unit or None)
            stored.add(code)
            result.created_agencies.append(f"{code} ({unit})" if unit else code)
        out[key] = found
    return out


def _resolve_fields(conn, catalogue: _Catalogue, result: NationalImportResult) -> dict[str, int]:
    names = list(catalogue.fields)
    before = set(conn.execute(select(Field.name).where(Field.name.in_(names))).scalars()) if names else set()
    ids = store.field_ids(conn, names)
    result.created_fields += [n for n in names if n not in before]
    return ids


def _resolve_procedures(conn, catalogue: _Catalogue, agency_of: dict[str, int],
                        result: NationalImportResult) -> dict[tuple[str, str], int | None]:
    """(MaHoSo prefix, MaTTHC) → procedure id, through the CSV importer's rule (its agency's, else the
    one agency having the code, else a minimal procedure made from TenTTHC)."""
    if not catalogue.procedures:
        return {}
    keys = list(catalogue.procedures)
    frame = pd.DataFrame({"procedure_code": [k[1] for k in keys],
                          "procedure_name": [catalogue.procedures[k][0] for k in keys],
                          "field": [catalogue.procedures[k][1] for k in keys]})
    agencies = pd.Series([agency_of[k[0]] for k in keys], dtype="int64")
    before = {tuple(r) for r in conn.execute(select(Procedure.agency_id, Procedure.code)).all()}
    ids = _procedure_ids(conn, frame, agencies)
    after = conn.execute(select(Procedure.id, Procedure.agency_id, Procedure.code,
                                Procedure.name)).all()
    result.created_procedures += [f"{r.code} ({r.name})" for r in after if (r.agency_id, r.code) not in before]
    return {key: (None if pd.isna(found) else int(found)) for key, found in zip(keys, ids)}


# --------------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------------

def _size(path: str | os.PathLike) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1


def _open(file: str | os.PathLike | bytes | IO[bytes]) -> tuple[IO[bytes], bool]:
    if isinstance(file, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(file)), True
    if hasattr(file, "read"):
        return file, False
    return open(Path(file), "rb"), True


def import_national(db: str | Engine | None, file: str | os.PathLike | bytes | IO[bytes], *,
                    agency: str | None = None, dry_run: bool = False, scope: Any = None,
                    within: Any = None) -> NationalImportResult:
    """Import a ``DongBoHoSoMC`` / ``CapNhatTienDoHoSoMC`` file (envelope or bare array) into ``db``.

    ``agency`` (the CLI's ``--agency``) names the agency of every record; without it the envelope's
    ``madonvi``, else each ``MaHoSo``'s prefix, else the default agency. Nothing is written when any
    record is refused; ``dry_run`` checks the whole file and writes nothing.

    ``scope`` (an ``auth.Scope`` limited to some agencies) refuses every record whose agency is outside
    it or not yet stored, and every dossier code stored for another agency, each with its index and
    ``MaHoSo``; a record naming no agency goes to the account's only agency.

    ``within(conn, result)`` runs in the writing transaction once everything is written
    (:func:`tthc_core.importer.import_file`).
    """
    result = NationalImportResult(kind="dossiers", dry_run=dry_run)
    problems = _Problems()
    catalogue = _Catalogue()
    if (msgspec is not None and not dry_run and scope is None and isinstance(file, (str, os.PathLike))
            and _size(file) >= PARALLEL_FROM):
        done = _import_parallel(db, Path(file), (agency or "").strip() or None, result, within)
        if done is not None:
            return done
        result = NationalImportResult(kind="dossiers", dry_run=dry_run)
    try:
        handle, close = _open(file)
    except OSError as exc:
        result.problems.append(Problem(1, "", f"Không mở được tệp «{file}»: {exc.strerror or exc}"))
        return result
    with tempfile.TemporaryFile(prefix="tthc-dvcqg-") as spool:
        try:
            stream = _read(handle, problems, catalogue, spool, result)
        except _Broken as exc:
            result.problems.append(Problem(1, "", str(exc)))
            return result
        except RecursionError:
            result.problems.append(Problem(1, "", "Tệp JSON lồng quá sâu"))
            return result
        finally:
            if close:
                handle.close()
        problems, catalogue = stream.problems, stream.catalogue
        result.service = str(stream.envelope.get("service") or "")
        if stream.is_envelope and result.service and result.service not in SERVICES:
            result.problems.append(Problem(1, "service", f"dịch vụ «{result.service}» không phải "
                                                         "DongBoHoSoMC hay CapNhatTienDoHoSoMC"))
            return result
        envelope_agency = _text(stream.envelope.get("madonvi")) or None
        if envelope_agency is NOT_SCALAR:
            envelope_agency = None
        agency = (agency or "").strip() or None
        scoped = scope is not None and scope.agencies is not None
        fallback = scope.agencies[0] if scoped and len(scope.agencies) == 1 else None
        if scoped and not problems:
            with get_engine(db).connect() as conn:
                _scope_problems(conn, spool, scope, agency or envelope_agency, bool(agency), problems)
        result.problems = _listed(problems)
        if problems or dry_run or (result.rows_valid == 0 and result.progress_steps == 0):
            return result
        try:
            with get_engine(db).begin() as conn:
                if scoped:  # again inside the transaction: another import may have written a code since
                    _scope_problems(conn, spool, scope, agency or envelope_agency, bool(agency), problems)
                    if problems:
                        raise _Refused
                _write(conn, spool, catalogue, agency, envelope_agency, problems, result, fallback)
                if within is not None:
                    result.written = True
                    within(conn, result)
        except _Refused:
            result.problems = _listed(problems)
            result.added = result.updated = 0
            result.created_agencies, result.created_fields, result.created_procedures = [], [], []
            return result
    result.written = True
    return result


def _read(handle: IO[bytes], problems: _Problems, catalogue: _Catalogue, spool: IO[bytes],
          result: NationalImportResult) -> _JsonStream | _FastStream:
    """Pass 1 by the fast reader when it can start over (msgspec installed, a file that seeks), else, or
    when it meets anything irregular, by the element-by-element reader from the start of the file (it
    names the place of a syntax error and what is wrong there)."""
    start = None
    if msgspec is not None:
        try:
            start = handle.tell() if handle.seekable() else None
        except (AttributeError, OSError, ValueError):
            start = None
    if start is not None:
        stream = _FastStream(handle)
        try:
            _read_records_fast(stream, problems, catalogue, spool, result)
            stream.problems, stream.catalogue = problems, catalogue
            return stream
        except _Irregular:
            handle.seek(start)
            spool.seek(0)
            spool.truncate()
            problems, catalogue = _Problems(), _Catalogue()
            for name in ("rows_read", "rows_valid", "supplement_rounds", "progress_steps"):
                setattr(result, name, 0)
    stream = _JsonStream(handle)
    _read_records(stream, problems, catalogue, spool, result)
    stream.problems, stream.catalogue = problems, catalogue
    return stream


class _Pipe:
    """Pass 1's spool in the reader process: each prepared batch goes to the writing process, with the
    catalogue and the envelope as known so far."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.stream: _FastStream | None = None

    def put(self, kind: str, prepared: Any, catalogue: _Catalogue) -> None:
        envelope = dict(self.stream.envelope) if self.stream is not None else {}
        self.connection.send(("batch", kind, prepared, catalogue, envelope,
                              self.stream is not None and self.stream.is_envelope))


def _reader_process(path: str, connection: Any) -> None:
    """Pass 1 of :func:`_import_parallel`, in a process of its own."""
    try:
        problems, catalogue = _Problems(), _Catalogue()
        result = NationalImportResult(kind="dossiers")
        pipe = _Pipe(connection)
        with open(path, "rb") as handle:
            stream = pipe.stream = _FastStream(handle)
            _read_records_fast(stream, problems, catalogue, pipe, result)
        counts = {name: getattr(result, name) for name in ("rows_read", "rows_valid", "supplement_rounds",
                                                             "progress_steps")}
        connection.send(("end", problems, catalogue, stream.envelope, stream.is_envelope, counts))
    except _Irregular:
        connection.send(("irregular",))
    except BaseException as exc:  # noqa: BLE001 - the writing process imports the file itself instead
        connection.send(("failed", repr(exc)))
    finally:
        connection.close()


_READER = ("import sys\nfrom multiprocessing.connection import Connection\n"
           "from tthc_core.importer.dvcqg import _reader_process\n"
           "_reader_process(sys.argv[1], Connection(int(sys.argv[2]), readable=False))\n")


class _Serial(Exception):
    """The parallel import gave up (an irregular file, the reader failed): roll back, import in-process."""


def _import_parallel(db: str | Engine | None, path: Path, agency: str | None, result: NationalImportResult,
                     within: Any = None) -> NationalImportResult | None:
    """:func:`import_national` for a large file: a reader process does pass 1 while this process writes
    each batch it sends, in ONE transaction that is rolled back when any record is refused (the reader
    stops sending then, and reports every refused record at the end). Batches wait in a spool while the
    records' agency is not settled (an envelope whose madonvi may come after its data). None when the
    file must be imported in-process after all (nothing is written then)."""
    # A new interpreter (never a fork of a process that may run server threads, nor multiprocessing's
    # spawn, which imports the caller's main script again), talking over a pipe.
    read_end, write_end = os.pipe()
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    try:
        reader = subprocess.Popen([sys.executable, "-c", _READER, str(path), str(write_end)], pass_fds=(write_end,),
                                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    except OSError:
        os.close(read_end)
        return None
    finally:
        os.close(write_end)
    receive = Connection(read_end, writable=False)
    problems = _Problems()
    try:
        with tempfile.TemporaryFile(prefix="tthc-dvcqg-") as waiting, contextlib.ExitStack() as writing:
            conn = writing.enter_context(get_engine(db).begin())
            state: dict[str, Any] = {"started": False, "waiting": 0, "calendar": None}

            def write(kind: str, prepared: Any, catalogue: _Catalogue, envelope_agency: str | None) -> None:
                if not state["started"]:
                    state["started"], state["calendar"] = True, load_calendar(conn)
                    bump_data_version(conn, dossiers=True)  # opens SQLite's write transaction first
                    # the number of records is not known yet: about one a kilobyte
                    writing.enter_context(store.dossier_indexes_set_aside(conn, path.stat().st_size // 1024))
                agency_of = _resolve_agencies(conn, catalogue, agency, envelope_agency, result)
                field_of = _resolve_fields(conn, catalogue, result)
                procedure_of = _resolve_procedures(conn, catalogue, agency_of, result)
                _write_one(conn, kind, prepared, agency_of, field_of, procedure_of, state["calendar"], problems,
                           result)

            def settled(envelope: dict, is_envelope: bool) -> tuple[bool, str | None]:
                found = _text(envelope.get("madonvi")) or None
                found = None if found is NOT_SCALAR else found
                return bool(agency or found or not is_envelope), found

            while True:
                message = receive.recv()
                if message[0] != "batch":
                    break
                _, kind, prepared, catalogue, envelope, is_envelope = message
                ready, envelope_agency = settled(envelope, is_envelope)
                if problems or not ready:
                    if not problems:
                        pickle.dump((kind, prepared), waiting, protocol=pickle.HIGHEST_PROTOCOL)
                        state["waiting"] += 1
                    continue
                write(kind, prepared, catalogue, envelope_agency)
            if message[0] != "end":
                raise _Serial
            _, found, catalogue, envelope, is_envelope, counts = message
            for name, value in counts.items():
                setattr(result, name, value)
            result.service = str(envelope.get("service") or "")
            if is_envelope and result.service and result.service not in SERVICES:
                result.problems.append(Problem(1, "service", f"dịch vụ «{result.service}» không phải "
                                                             "DongBoHoSoMC hay CapNhatTienDoHoSoMC"))
                raise _Refused
            found.items += problems.items
            found.records |= problems.records
            problems = found
            if not problems and state["waiting"]:
                _, envelope_agency = settled(envelope, is_envelope)
                for kind, prepared in _spooled(waiting):
                    write(kind, prepared, catalogue, envelope_agency)
            if problems:
                raise _Refused
            if state["started"]:
                _name_created_agencies(conn, catalogue, result)
            result.added = result.rows_valid - result.updated
            if within is not None and (result.rows_valid or result.progress_steps):
                result.written = True
                within(conn, result)
    except _Refused:
        result.problems = result.problems or _listed(problems)
        result.added = result.updated = 0
        result.created_agencies, result.created_fields, result.created_procedures = [], [], []
        return result
    except (_Serial, EOFError):
        return None
    finally:
        receive.close()
        try:
            reader.wait(timeout=5)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()
    result.problems = []
    result.written = result.rows_valid > 0 or result.progress_steps > 0
    return result


def _name_created_agencies(conn, catalogue: _Catalogue, result: NationalImportResult) -> None:
    """An agency created before a later batch gave its DonViXuLy takes that name (as when the whole file
    is read first: the first name the file gives)."""
    for position, label in enumerate(result.created_agencies):
        if " (" in label:
            continue
        name = catalogue.agency_names.get(label)
        if name:
            store.ensure_agency(conn, label, name)
            result.created_agencies[position] = f"{label} ({name})"


def _listed(problems: _Problems) -> list[Problem]:
    # In the order of the file (the checks run field by field over a batch); sorted() is stable.
    listed = [problem for _, problem in sorted(problems.items, key=lambda item: item[0])]
    if problems.more:
        listed.append(Problem(1, "", f"… và {fmt_int(problems.more)} lỗi khác không liệt kê "
                                     f"({fmt_int(len(problems.records))} bản ghi bị loại)"))
    return listed


def _imports(db, file, filename: str, *, kind: str | None = None, agency: str | None = None,
             skip_invalid: bool = False, dry_run: bool = False, scope: Any = None,
             within: Any = None) -> ImportResult:
    """The :class:`~tthc_core.importer.Format` entry: every national record is all or nothing."""
    if kind == "procedures":
        return NationalImportResult(problems=[Problem(1, "", "Tệp JSON đồng bộ hồ sơ (DongBoHoSoMC) không phải "
                                                             "tệp thủ tục")])
    if skip_invalid:
        return NationalImportResult(problems=[Problem(1, "", "Tệp JSON đồng bộ hồ sơ được nhập trọn vẹn hoặc không "
                                                             "nhập gì: không dùng --skip-invalid")])
    if scope is not None and scope.agencies is not None:
        # An account limited to some agencies writes only theirs: its chosen agency must be one of them
        # (AccessDenied), and each record's agency (the chosen one, else the envelope's madonvi, else the
        # MaHoSo prefix, else the account's only agency) is checked record by record (_scope_problems).
        if agency:
            agency = next((code for code in scope.agencies if code.casefold() == agency.casefold()), agency)
            scope.restrict(agency)  # AccessDenied: not the account's agency
        return import_national(db, file, agency=agency, dry_run=dry_run, scope=scope, within=within)
    return import_national(db, file, agency=agency, dry_run=dry_run, within=within)


register_format(Format(FORMAT, lambda head, name: looks_like_json(head), _imports))

__all__ = ["NationalImportResult", "import_national", "looks_like_json", "parse_times", "FORMAT"]
