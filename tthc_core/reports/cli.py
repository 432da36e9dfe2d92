"""``python -m tthc_core profile show|set``: the agency profile from the command line.

``set`` takes ``KEY=VALUE`` pairs; list fields (``focal_officers``, ``recipients``) separate items with
``|``; ``documents`` takes a JSON list (or ``@file.json``) of ``{role, number, date, issuer, subject}``.
Without ``--agency`` the profile is the province-wide report's (UBND tỉnh).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from .profile import LIST_FIELDS, PROFILE_LABELS, load_profile, profile_json, profile_missing, save_profile


class ProfileUsageError(ValueError):
    """A ``KEY=VALUE`` argument that cannot be read."""


def add_profile_parser(sub) -> None:
    profile = sub.add_parser("profile", help="hồ sơ cơ quan cho báo cáo quý: show, set")
    actions = profile.add_subparsers(dest="profile_command", required=True, parser_class=type(profile))
    show = actions.add_parser("show", help="in hồ sơ cơ quan (JSON) và những gì còn thiếu")
    show.add_argument("--agency", help="mã cơ quan (mặc định: báo cáo toàn tỉnh của UBND tỉnh)")
    put = actions.add_parser("set", help="ghi các trường KEY=VALUE của hồ sơ cơ quan",
                             description="Trường: " + ", ".join(PROFILE_LABELS))
    put.add_argument("--agency", help="mã cơ quan (mặc định: báo cáo toàn tỉnh của UBND tỉnh)")
    put.add_argument("--user", default="", help="người cập nhật")
    put.add_argument("values", nargs="+", metavar="KEY=VALUE")


def _value(key: str, text: str):
    if key in LIST_FIELDS:
        return [item.strip() for item in text.split("|") if item.strip()]
    if key == "documents":
        raw = Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ProfileUsageError(f"documents: không đọc được JSON ({exc.msg}, dòng {exc.lineno}).") from exc
    return text


def cmd_profile(args) -> int:
    if args.profile_command == "show":
        profile = load_profile(args.db, args.agency)
        print(profile_json(profile))
        for item in profile_missing(profile):
            print(f"Còn thiếu: {item}", file=sys.stderr)
        return 0
    values = {}
    try:
        for pair in args.values:
            key, sep, text = pair.partition("=")
            if not sep:
                raise ProfileUsageError(f"«{pair}» không có dạng KEY=VALUE.")
            values[key.strip()] = _value(key.strip(), text)
    except ProfileUsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    problems = save_profile(args.db, args.agency, values, user=args.user)
    for problem in problems:
        print(problem.text(), file=sys.stderr)
    if problems:
        return 2
    print(f"Đã ghi hồ sơ cơ quan {args.agency or '(toàn tỉnh)'}.")
    return 0
