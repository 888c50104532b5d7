"""Fault corpus, catalogs (issue #16 classes 1-5): bad files must be refused or rejected row by row, never merged.

Each case generates its small file, runs `hiercat ingest` (models from a session cache) or the catalog
reader, and asserts the exact outcome: exit code, the one-line message with file and line, the rejects
with their reasons, and the points stored exactly as written.
"""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import pandas as pd
import pytest

from tests.faults import HEADER, fast_models, hiercat, no_traceback, one_line_error, rows, stored, write_csv

__all__ = ["fast_models"]  # the fixture, imported for its use below


def ingest(tmp_path: Path, *files: Path, extra: tuple[str, ...] = ()):
    return hiercat("ingest", *files, "--store", tmp_path / "store", *extra)


def rejects_of(tmp_path: Path) -> pd.DataFrame:
    files = sorted((tmp_path / "store").glob("rejects-*.csv"))
    return pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files]) if files else pd.DataFrame()


def csv_lines(n: int = 10) -> list[str]:
    """The data lines of a well-formed CSV of n rows (descriptions hold commas, so they are quoted)."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows(n))
    return buf.getvalue().splitlines()


# -- 1. rows lost or merged ------------------------------------------------------------------------

@pytest.mark.fault("loss")
def test_unbalanced_quote_is_an_error_naming_file_line_and_column(tmp_path, fast_models) -> None:
    lines = csv_lines()
    lines[3] = lines[3].replace("Blue cotton", '"Blue cotton')  # data row 4, file line 5
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, lines, raw=True)
    run = ingest(tmp_path, f)
    err = one_line_error(run, "products.csv", "line 5", "column 3", "quote")
    assert "--on-bad-lines reject" in run.output, err
    assert not (tmp_path / "store" / "segments").exists() or stored(tmp_path / "store") == {}


@pytest.mark.fault("loss")
def test_unbalanced_quote_under_reject_keeps_every_other_row(tmp_path, fast_models) -> None:
    lines = csv_lines()
    lines[3] = lines[3].replace("Blue cotton", '"Blue cotton')
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, lines, raw=True)
    run = ingest(tmp_path, f, extra=("--on-bad-lines", "reject"))
    no_traceback(run)
    assert run.code == 0, run.output
    points = stored(tmp_path / "store")
    assert sorted(points, key=int) == [str(i) for i in range(1, 11) if i != 4]
    assert all("\n" not in p["title"] for p in points.values())
    rej = rejects_of(tmp_path)
    assert rej["line"].tolist() == ["5"] and "quote" in rej["reason"].iloc[0]


def swallowing_lines() -> list[str]:
    """Data lines where row 4 opens a quote that a stray quote in row 7 closes: pandas merged rows 4-7 into one title."""
    lines = [",".join(r[:4] + ["plain description", "", r[6]]) for r in rows(10)]
    lines[3] = lines[3].replace("Blue cotton", '"Blue cotton')  # file line 5
    lines[6] = lines[6].replace("number 7", 'number 7"')  # file line 8
    return lines


@pytest.mark.fault("loss")
def test_quote_swallowing_whole_rows_is_an_error(tmp_path, fast_models) -> None:
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, swallowing_lines(), raw=True)
    one_line_error(ingest(tmp_path, f), "products.csv", "line 5", "column 3", "line 8")


@pytest.mark.fault("loss")
def test_quote_swallowing_whole_rows_under_reject_keeps_the_rows(tmp_path, fast_models) -> None:
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, swallowing_lines(), raw=True)
    run = ingest(tmp_path, f, extra=("--on-bad-lines", "reject"))
    no_traceback(run)
    assert run.code == 0, run.output
    points = stored(tmp_path / "store")
    assert sorted(points, key=int) == [str(i) for i in range(1, 11) if i != 4]
    assert points["7"]["title"] == 'Blue cotton shirt number 7"'  # the stray quote, as written
    assert rejects_of(tmp_path)["line"].tolist() == ["5"]


@pytest.mark.fault("loss")
def test_ragged_row_is_an_error_with_its_line(tmp_path, fast_models) -> None:
    lines = csv_lines()
    lines[6] += ",extra"  # file line 8
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, lines, raw=True)
    one_line_error(ingest(tmp_path, f), "products.csv", "line 8", "8 fields", "7")


@pytest.mark.fault("loss")
def test_short_row_under_reject_is_a_reject_with_its_line(tmp_path, fast_models) -> None:
    lines = csv_lines()
    lines[2] = "3,shopa,Lonely title"  # file line 4
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, lines, raw=True)
    run = ingest(tmp_path, f, extra=("--on-bad-lines", "reject"))
    no_traceback(run)
    assert run.code == 0
    assert len(stored(tmp_path / "store")) == 9
    rej = rejects_of(tmp_path)
    assert rej["line"].tolist() == ["4"] and "3 fields" in rej["reason"].iloc[0]


@pytest.mark.fault("wrong")
@pytest.mark.parametrize("mode", ["error", "reject"])
def test_trailing_comma_on_every_row_is_refused_clearly(tmp_path, fast_models, mode) -> None:
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, [line + "," for line in csv_lines()], raw=True)
    one_line_error(ingest(tmp_path, f, extra=("--on-bad-lines", mode)), "products.csv", "trailing comma")
    assert not (tmp_path / "store" / "segments").exists()


@pytest.mark.fault("wrong")
def test_multiline_description_in_quotes_is_kept(tmp_path, fast_models) -> None:
    body = rows(3)
    body[1][4] = "Line one of the description\nline two, with a comma"
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, body)
    run = ingest(tmp_path, f)
    no_traceback(run)
    assert run.code == 0
    assert stored(tmp_path / "store")["2"]["description"] == "Line one of the description\nline two, with a comma"


# -- 2. values stored as the file has them ------------------------------------------------------------

def parquet(path: Path, table: dict) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), path)
    return path


def base_columns(n: int = 4) -> dict:
    return {"platform": ["shopa"] * n, "title": [f"Blue shirt {i}" for i in range(n)],
            "category": ["Apparel > Topwear > Shirts"] * n}


@pytest.mark.fault("wrong")
def test_parquet_float_ids_and_nullable_ints_are_stored_without_decimals(tmp_path, fast_models) -> None:
    cols = {"product_id": [19593.0, 19594.0, 7.0, 8.0], **base_columns(), "year": [2012, None, 2013, 2014]}
    f = parquet(tmp_path / "shop" / "p.parquet", cols)
    run = ingest(tmp_path, f)
    no_traceback(run)
    points = stored(tmp_path / "store")
    assert sorted(points) == ["19593", "19594", "7", "8"]
    assert points["19593"]["year"] == "2012" and points["19594"]["year"] == ""


@pytest.mark.fault("wrong")
def test_parquet_fractional_id_is_a_reject(tmp_path, fast_models) -> None:
    f = parquet(tmp_path / "shop" / "p.parquet", {"product_id": [1.0, 2.5, 3.0, 4.0], **base_columns()})
    run = ingest(tmp_path, f)
    no_traceback(run)
    assert sorted(stored(tmp_path / "store")) == ["1", "3", "4"]
    assert "product_id" in rejects_of(tmp_path)["reason"].iloc[0]


@pytest.mark.fault("wrong")
def test_parquet_list_and_bytes_values_are_rejects_not_python_text(tmp_path, fast_models) -> None:
    import pyarrow as pa

    cols = {"product_id": ["1", "2", "3", "4"], "platform": ["shopa"] * 4,
            "title": ["Lip gloss", "Lip balm", "Lipstick", "Liner"],
            "category": pa.array([["Personal Care", "Lips", "Lip Gloss"]] * 4),
            "brand": pa.array([b"Acme", b"\xff\xfe", b"Acme", b"Acme"])}
    f = parquet(tmp_path / "shop" / "p.parquet", cols)
    run = ingest(tmp_path, f)
    no_traceback(run)
    assert stored(tmp_path / "store") == {}
    reasons = rejects_of(tmp_path)["reason"].tolist()
    assert len(reasons) == 4 and all("category" in r and "list" in r for r in reasons), reasons
    assert not any("[" in r and "Personal Care" in r for r in reasons)


@pytest.mark.fault("wrong")
def test_parquet_utf8_bytes_are_text_and_other_bytes_a_reject(tmp_path, fast_models) -> None:
    cols = {"product_id": ["1", "2"], "platform": ["shopa"] * 2, "title": ["Lip gloss", "Lip balm"],
            "category": ["Health > Lips"] * 2, "brand": [b"Acme", b"\xff\xfe"]}
    f = parquet(tmp_path / "shop" / "p.parquet", cols)
    no_traceback(ingest(tmp_path, f))
    points = stored(tmp_path / "store")
    assert points["1"]["brand"] == "Acme" and "2" not in points
    assert "brand" in rejects_of(tmp_path)["reason"].iloc[0]


@pytest.mark.fault("wrong")
def test_jsonl_objects_and_booleans_are_rejects(tmp_path, fast_models) -> None:
    lines = [{"product_id": 1, "platform": "shopa", "title": {"en": "Blue shirt"}, "category": "A > B"},
             {"product_id": 2, "platform": "shopa", "title": True, "category": "A > B"},
             {"product_id": 3, "platform": "shopa", "title": "Red shirt", "category": "A > B", "price": 19.5},
             {"product_id": 4.0, "platform": "shopa", "title": "Green shirt", "category": "A > B"}]
    f = tmp_path / "shop" / "p.jsonl"
    f.parent.mkdir()
    f.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    no_traceback(ingest(tmp_path, f))
    points = stored(tmp_path / "store")
    assert sorted(points) == ["3", "4"] and points["3"]["price"] == "19.5"
    rej = rejects_of(tmp_path)
    assert rej["line"].tolist() == ["1", "2"]
    assert "title" in rej["reason"].iloc[0] and "object" in rej["reason"].iloc[0]
    assert "title" in rej["reason"].iloc[1] and "boolean" in rej["reason"].iloc[1]


@pytest.mark.fault("wrong")
@pytest.mark.parametrize("title", ["NaN", "None", "null", "\u200b", " \u00a0\u2003", "N/A"])
def test_placeholder_and_invisible_titles_are_rejects(tmp_path, fast_models, title) -> None:
    body = rows(3)
    body[1][2] = title
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, body)
    no_traceback(ingest(tmp_path, f))
    assert sorted(stored(tmp_path / "store")) == ["1", "3"]
    assert "title" in rejects_of(tmp_path)["reason"].iloc[0]


@pytest.mark.fault("wrong")
def test_invisible_padding_is_stripped_from_titles_and_ids(tmp_path, fast_models) -> None:
    body = rows(2)
    body[0][0] = "\ufeff1\u200b"
    body[0][2] = "\u00a0Blue shirt\u2003"
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, body)
    no_traceback(ingest(tmp_path, f))
    assert stored(tmp_path / "store")["1"]["title"] == "Blue shirt"


@pytest.mark.fault("wrong")
@pytest.mark.parametrize("category", [">", " > > ", "Apparel >  > Shirts", "Apparel > "])
def test_empty_category_levels_are_rejects(tmp_path, fast_models, category) -> None:
    body = rows(3)
    body[1][6] = category
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, body)
    no_traceback(ingest(tmp_path, f))
    assert sorted(stored(tmp_path / "store")) == ["1", "3"]
    assert "category" in rejects_of(tmp_path)["reason"].iloc[0]


@pytest.mark.fault("wrong")
def test_duplicate_column_is_an_error(tmp_path, fast_models) -> None:
    f = write_csv(tmp_path / "shop" / "products.csv", [*HEADER, "title"], [r + ["Other"] for r in rows(3)])
    one_line_error(ingest(tmp_path, f), "products.csv", "title", "twice")


@pytest.mark.fault("wrong")
def test_placeholder_brand_is_empty_not_a_brand(tmp_path, fast_models) -> None:
    body = rows(2)
    body[0][3] = "null"
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, body)
    no_traceback(ingest(tmp_path, f))
    assert stored(tmp_path / "store")["1"]["brand"] == ""


# -- 3. identity across runs ------------------------------------------------------------------------

@pytest.mark.fault("wrong")
def test_no_platform_anywhere_is_an_error_not_the_folder_name(tmp_path, fast_models) -> None:
    header = [h for h in HEADER if h != "platform"]
    body = [[v for j, v in enumerate(r) if j != 1] for r in rows(3)]
    f = write_csv(tmp_path / "a" / "products.csv", header, body)
    one_line_error(ingest(tmp_path, f), "platform", "--platform")


@pytest.mark.fault("wrong")
def test_same_catalog_from_two_folders_is_one_set_of_points(tmp_path, fast_models) -> None:
    header = [h for h in HEADER if h != "platform"]
    body = [[v for j, v in enumerate(r) if j != 1] for r in rows(5)]
    a = write_csv(tmp_path / "a" / "products.csv", header, body)
    b = write_csv(tmp_path / "b" / "products.csv", header, body)
    first = ingest(tmp_path, a, extra=("--platform", "shopa"))
    no_traceback(first)
    assert first.code == 0, first.output
    second = ingest(tmp_path, b)  # the store's recorded default platform, not the folder "b"
    no_traceback(second)
    assert second.code == 0, second.output
    points = stored(tmp_path / "store")
    assert len(points) == 5 and {p["platform"] for p in points.values()} == {"shopa"}


@pytest.mark.fault("loss")
def test_same_products_from_csv_then_parquet_are_not_duplicated(tmp_path, fast_models) -> None:
    body = rows(10)
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, body)
    cols = {h: [r[j] for r in body] for j, h in enumerate(HEADER)}
    cols["product_id"] = [float(r[0]) for r in body]
    p = parquet(tmp_path / "shop" / "products.parquet", cols)
    no_traceback(ingest(tmp_path, f))
    run = ingest(tmp_path, p)
    no_traceback(run)
    assert len(stored(tmp_path / "store")) == 10


# -- 4. one bad image ----------------------------------------------------------------------------------

def bomb_png(path: Path, side: int = 20000) -> Path:
    """A tiny PNG whose header claims side x side pixels (Pillow's decompression-bomb limit)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


@pytest.mark.fault("loss")
def test_bad_images_are_row_rejects_and_the_rest_is_ingested(tmp_path, fast_models) -> None:
    from PIL import Image

    shop = tmp_path / "shop"
    (shop / "images").mkdir(parents=True)
    body = rows(6)
    for r in body:
        Image.new("RGB", (32, 32), (200, 10, 10)).save(shop / "images" / f"{r[0]}.png")
        r[5] = f"images/{r[0]}.png"
    bomb_png(shop / "images" / "2.png")
    (shop / "images" / "3.png").write_bytes((shop / "images" / "1.png").read_bytes()[:40])  # truncated
    (shop / "images" / "4.png").write_text("not an image", encoding="utf-8")
    f = write_csv(shop / "products.csv", HEADER, body)
    run = ingest(tmp_path, f)
    no_traceback(run)
    assert run.code == 0, run.output
    assert sorted(stored(tmp_path / "store")) == ["1", "5", "6"]
    rej = rejects_of(tmp_path).set_index("product_id")["reason"]
    assert "pixels" in rej["2"] or "decompression" in rej["2"].lower()
    assert {"3", "4"} <= set(rej.index)
    again = ingest(tmp_path, f)  # a re-run skips the stored rows and rejects the same three again
    no_traceback(again)
    assert again.code == 0 and len(stored(tmp_path / "store")) == 3


# -- 5. the right place in error messages ----------------------------------------------------------------

@pytest.mark.fault("wrong")
def test_latin1_byte_is_reported_with_its_line(tmp_path, fast_models) -> None:
    lines = csv_lines(200)
    f = tmp_path / "shop" / "products.csv"
    f.parent.mkdir()
    text = (",".join(HEADER) + "\n" + "".join(line + "\n" for line in lines)).encode("utf-8")
    at = text.index(b"number 150")  # data row 150 is file line 151
    f.write_bytes(text[:at] + "caf\u00e9 ".encode("latin-1") + text[at:])
    one_line_error(ingest(tmp_path, f), "products.csv", "line 151", "utf-8")


@pytest.mark.fault("wrong")
def test_mapping_file_decode_error_names_the_file(tmp_path, fast_models) -> None:
    m = tmp_path / "map.csv"
    m.write_bytes("native_category,gpt_category\nApparel > Topwear > Shirts,Caf\u00e9\n".encode("latin-1"))
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(2))
    one_line_error(ingest(tmp_path, f, extra=("--mapping", str(m))), "map.csv", "line 2")


@pytest.mark.fault("traceback")
def test_column_rename_onto_an_existing_column_is_an_error(tmp_path, fast_models) -> None:
    f = write_csv(tmp_path / "shop" / "products.csv", [*HEADER, "name"], [r + ["x"] for r in rows(2)])
    one_line_error(ingest(tmp_path, f, extra=("--column", "name=title")), "name", "title")


@pytest.mark.fault("wrong")
def test_read_table_reports_line_numbers_of_rows() -> None:
    """The library's view of row identity: `row` counts data rows, `line` is the file line it starts on."""
    import tempfile

    from hiercat.catalog import read_table

    with tempfile.TemporaryDirectory() as d:
        body = rows(3)
        body[0][4] = "two\nlines"
        f = write_csv(Path(d) / "p.csv", HEADER, body)
        df = read_table(f)
        assert df["row"].tolist() == [1, 2, 3]
        assert df["line"].tolist() == [2, 4, 5]
        assert df["product_id"].tolist() == ["1", "2", "3"]


@pytest.mark.fault("wrong")
@pytest.mark.parametrize("shape", ["tsv", "semicolons", "gzip", "json array"])
def test_other_shapes_of_one_catalog_read_the_same(tmp_path, shape) -> None:
    """A shop's export as .tsv, semicolon-separated (the header decides), gzipped or as a JSON array: same rows."""
    import gzip

    from hiercat.catalog import read_table

    body = rows(3)
    if shape == "json array":
        f = tmp_path / "p.json"
        f.write_text(json.dumps([dict(zip(HEADER, r)) for r in body]), encoding="utf-8")
    elif shape == "gzip":
        plain = write_csv(tmp_path / "p.csv", HEADER, body)
        f = tmp_path / "p.csv.gz"
        f.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        delim = "\t" if shape == "tsv" else ";"
        f = tmp_path / ("p.tsv" if shape == "tsv" else "p.csv")
        f.write_text("".join(delim.join(r) + "\n" for r in [HEADER, *body]), encoding="utf-8")
    df = read_table(f)
    assert df["product_id"].tolist() == ["1", "2", "3"]
    assert df["description"].tolist() == [r[4] for r in body]  # "A soft shirt, model 1": the comma kept
    assert (df["read_error"] == "").all()


@pytest.mark.fault("traceback")
@pytest.mark.parametrize("name,data,needle", [("p.xlsx", b"PK\x03\x04", "save the sheet as CSV"),
                                              ("p.csv", "product_id,title\n".encode("utf-16"), "UTF-16"),
                                              ("p.csv", b"", "empty"),
                                              ("p.parquet", b"not parquet", "Parquet")])
def test_unreadable_files_are_one_line(tmp_path, fast_models, name, data, needle) -> None:
    f = tmp_path / "shop" / name
    f.parent.mkdir()
    f.write_bytes(data)
    one_line_error(ingest(tmp_path, f), name, needle)

