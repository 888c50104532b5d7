"""Reading catalog files cell by cell, as written: strict CSV records, typed Parquet / JSONL values.

Every reader returns records (the file line each starts on, the values as text) and never merges,
shifts or guesses: a malformed record is a `CatalogError` naming file, line and column, or, with
`on_bad_lines="reject"`, a record carrying its reason (`read_error`) that validation rejects.

Values become text once, here, by one rule (`cell_text`): strings as written; integers, and floats
with an integral value (Parquet and JSON often store ids as 19593.0), without decimals; other floats as
Python prints them; UTF-8 bytes decoded; missing values (None, NaN) empty. Booleans, lists, objects
and non-UTF-8 bytes are not text: the row is rejected, naming the column and the type.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BAD_LINES = ("error", "reject")
# Physical lines as the csv module sees them: only \r\n, \n and \r end a line (not \u2028 or \x0c).
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+$")


class CatalogError(ValueError):
    """A catalog file that cannot be read at all; the message names the file and, if known, the line."""


@dataclass
class Records:
    """What a reader found: column names, one value list per record, its file line, and a reason where unusable."""

    columns: list[str]
    values: list[list[str]]
    lines: list[int]
    errors: list[str]  # "" for a good record


def cell_text(value: Any, column: str) -> tuple[str, str]:
    """(text, "") for a value that is text as written, or ("", reason) for one of the wrong type."""
    if value is None:
        return "", ""
    if isinstance(value, str):
        return value, ""
    if isinstance(value, bool):
        return "", f"{column} is a boolean ({value}), expected text"
    if isinstance(value, int):
        return str(value), ""
    if isinstance(value, float):
        if math.isnan(value):
            return "", ""
        if math.isinf(value):
            return "", f"{column} is an infinite number"
        if value.is_integer():
            return str(int(value)), ""
        if column == "product_id":
            return "", f"product_id is a fractional number ({value!r}); ids are text or whole numbers"
        return repr(value), ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8"), ""
        except UnicodeDecodeError:
            return "", f"{column} holds binary data that is not UTF-8 text"
    if isinstance(value, decimal.Decimal):
        return (str(int(value)) if value == value.to_integral_value() else str(value)), ""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(), ""
    if isinstance(value, dict):
        return "", f"{column} is a JSON object ({', '.join(map(str, list(value)[:3]))}), expected text"
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        n = len(value) if hasattr(value, "__len__") else "?"
        hint = "; join its levels with ' > '" if column == "category" else ""
        return "", f"{column} is a list of {n} values, expected text{hint}"
    return "", f"{column} is a {type(value).__name__}, expected text"


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it is gzip-compressed (`products.csv.gz`); Excel workbooks are refused."""
    import gzip

    if path.suffix.lower() in (".xlsx", ".xls", ".xlsm", ".ods"):
        raise CatalogError(f"{path}: spreadsheet workbooks are not read; save the sheet as CSV (UTF-8)")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise CatalogError(f"{path}: a damaged gzip file ({exc})") from None
    return raw


def decode_utf8(path: Path, raw: bytes) -> str:
    """The file's text; a non-UTF-8 byte is an error naming its line and column (a BOM is dropped)."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise CatalogError(f"{path}: the file is UTF-16 encoded (Excel's 'Unicode text'); save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise CatalogError(f"{path}: line {line}, column {col}: byte 0x{raw[exc.start]:02x} is not UTF-8 "
                           "(the file looks Latin-1 / Windows-1252 encoded); save it as UTF-8") from None


def _field_at(line: str, fields: int, delim: str = ",") -> int:
    """1-based number of the field whose quote is broken on this physical line (opened and never closed, or
    closed and followed by more text); the last field when no quote is broken here."""
    text, col, i = line.rstrip("\r\n"), 1, 0
    while i <= len(text):
        if i < len(text) and text[i] == '"':
            i += 1
            while True:
                j = text.find('"', i)
                if j < 0:
                    return col  # opened here, still open at the end of the line
                if text[j + 1: j + 2] == '"':
                    i = j + 2  # an escaped quote ("")
                    continue
                if j + 1 < len(text) and text[j + 1] != delim:
                    return col  # closed, then followed by more text
                i = j + 1
                break
        else:
            j = text.find(delim, i)
            i = len(text) if j < 0 else j
        if i >= len(text):
            break
        col += 1
        i += 1
    return max(1, min(col, fields or col))


def read_csv_records(path: Path, on_bad_lines: str = "error") -> Records:
    """Records of a comma-separated file, with strict quoting; see the module doc for bad records."""
    if on_bad_lines not in BAD_LINES:
        raise ValueError(f"on_bad_lines must be one of {', '.join(BAD_LINES)}, got {on_bad_lines!r}")
    text = decode_utf8(path, read_bytes(path))
    lines = _LINES.findall(text)
    if not lines:
        raise CatalogError(f"{path}: the file is empty (no header line)")
    # Comma-separated, unless the header holds no comma but tabs or semicolons (.tsv, European exports):
    # the header alone decides, so no row's content is ever guessed at.
    delim = "\t" if path.suffix.lower() == ".tsv" else ","
    if "," not in lines[0]:
        delim = next((d for d in ("\t", ";", "|") if d in lines[0]), delim)
    try:
        header = next(csv.reader([lines[0]], strict=True, delimiter=delim))
    except csv.Error as exc:
        raise CatalogError(f"{path}: line 1 (the header): {exc}") from None
    ncol = len(header)
    values: list[list[str]] = []
    where: list[int] = []
    errors: list[str] = []
    pos = 1
    while pos < len(lines):
        reader = csv.reader(lines[pos:], strict=True, delimiter=delim)
        resync = None
        while True:
            start = pos + reader.line_num
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                col = _field_at(lines[start], ncol, delim)
                reason = (f"column {col} ({header[col - 1] if col <= ncol else '?'}): a quote opened here is "
                          f"never closed ({exc})")
                values.append([])
                where.append(start + 1)
                errors.append(reason)
                resync = start + 1
                break
            end = pos + reader.line_num
            if end - start == 1 and not lines[start].strip():
                continue  # a blank line
            reason = ""
            if end - start > 1 and any(lines[k].count(delim) >= ncol - 1 for k in range(start + 1, end)):
                # A quoted value may span lines (descriptions do), but one that swallows whole rows is a lost quote.
                col = _field_at(lines[start], ncol, delim)
                reason = (f"column {col} ({header[col - 1] if col <= ncol else '?'}): a quote opened here closes only "
                          f"on line {end}, swallowing {end - start - 1} line(s) that look like rows")
                resync = start + 1
            elif len(fields) != ncol:
                reason = f"{len(fields)} fields, the header has {ncol}"
            values.append([] if reason else fields)
            where.append(start + 1)
            errors.append(reason)
            if resync is not None:
                break
        if resync is None:
            break
        pos = resync
    _refuse_trailing_commas(path, header, errors, where)
    if on_bad_lines == "error":
        first = next((i for i, e in enumerate(errors) if e), None)
        if first is not None:
            raise CatalogError(f"{path}: line {where[first]}, {errors[first]}; fix the file, or pass "
                               "--on-bad-lines reject to reject such rows and ingest the others")
    return Records(header, values, where, errors)


def _refuse_trailing_commas(path: Path, header: list[str], errors: list[str], where: list[int]) -> None:
    """Most data rows one field longer than the header is a trailing comma, which would shift every column."""
    ncol = len(header)
    extra = [i for i, e in enumerate(errors) if e == f"{ncol + 1} fields, the header has {ncol}"]
    if not extra or len(extra) < 0.5 * len(errors):
        return
    raise CatalogError(f"{path}: line {where[extra[0]]}: {len(extra)} of {len(errors)} data rows end with a trailing "
                       f"comma (one field more than the {ncol} header columns, which would shift every column); "
                       "remove the trailing commas, or end the header line with a comma too")


def read_jsonl_records(path: Path) -> Records:
    """Records of a JSON-lines file (one object per line); values typed by `cell_text`."""
    text = decode_utf8(path, read_bytes(path))
    columns: dict[str, None] = {}
    objs: list[dict[str, Any]] = []
    where: list[int] = []
    errors: list[str] = []
    if text.lstrip().startswith("["):
        # A .json file holding one array of objects: its records are numbered from 1 in place of lines.
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogError(f"{path}: line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
        text = "\n".join(json.dumps(x, ensure_ascii=False) if isinstance(x, dict) else json.dumps([x]) for x in items)
    for lineno, line in enumerate(_LINES.findall(text), 1):
        if not line.strip():
            continue
        dup: list[str] = []

        def pairs(items: list[tuple[str, Any]], dup: list[str] = dup) -> dict[str, Any]:
            seen: dict[str, Any] = {}
            for k, v in items:
                if k in seen:
                    dup.append(k)
                seen[k] = v
            return seen

        try:
            obj = json.loads(line, object_pairs_hook=pairs)
        except json.JSONDecodeError as exc:
            raise CatalogError(f"{path}: line {lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise CatalogError(f"{path}: line {lineno}: expected a JSON object per line, got a {type(obj).__name__}")
        for k in obj:
            columns.setdefault(str(k), None)
        objs.append(obj)
        where.append(lineno)
        errors.append(f"key {dup[0]!r} appears twice in the object" if dup else "")
    names = list(columns)
    values = []
    for i, obj in enumerate(objs):
        row = []
        for name in names:
            text_value, why = cell_text(obj.get(name), name)
            if why and not errors[i]:
                errors[i] = why
            row.append(text_value)
        values.append(row)
    return Records(names, values, where, errors)


def read_parquet_records(path: Path) -> Records:
    """Records of a Parquet file; values typed by `cell_text` (row r is reported as line r + 1, as in CSV)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types; the user needs the file name
        raise CatalogError(f"{path}: cannot read as Parquet: {exc}") from None
    names = [str(n) for n in table.column_names]
    n = table.num_rows
    values = [[""] * len(names) for _ in range(n)]
    errors = [""] * n
    for j, name in enumerate(names):
        for i, v in enumerate(table.column(j).to_pylist()):
            text_value, why = cell_text(v, name)
            values[i][j] = text_value
            if why and not errors[i]:
                errors[i] = why
    return Records(names, values, [i + 2 for i in range(n)], errors)
