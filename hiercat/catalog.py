"""Reading product catalogs (CSV / Parquet / JSONL) into one schema and validating their rows."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .catalog_read import (
    BAD_LINES,
    CatalogError,
    Records,
    read_csv_records,
    read_jsonl_records,
    read_parquet_records,
)
from .mapping import CategoryMapping
from .taxonomy import SEP, join_path, split_path

COLUMNS = [
    "product_id", "platform", "title", "brand", "description", "image", "category",
    "gender", "colour", "season", "year", "usage", "price",
]
REQUIRED = ["product_id", "title", "category"]

# Words that end a brand prefix in titles such as "Peter England Men Party Blue Jeans".
_AUDIENCE = re.compile(r"\b(Men|Mens|Men's|Women|Womens|Women's|Unisex|Boys|Girls|Boy|Girl|Kids|Baby|Infant|Infants)\b")


@dataclass
class CatalogOptions:
    """How to read one catalog: column renames, category separator, platform, mapping."""

    columns: dict[str, str] = field(default_factory=dict)  # file column -> hiercat column
    sep: str = SEP
    platform: str | None = None
    mapping: CategoryMapping | None = None
    brand_from_title: bool | None = None  # None: only when the brand column is empty everywhere
    check_images: bool = True
    require_category: bool = True  # False when classifying products whose category is unknown
    # Rows whose category a proposed mapping marks review/mixed: "reject" them, or "classify" each
    # product by itself (ingest then needs a classifier).
    unsure: str = "reject"
    # A malformed CSV record: "error" stops with file, line and column; "reject" rejects that row only.
    on_bad_lines: str = "error"
    # The platform of rows that name none when `platform` is not given (ingest: the store's recorded
    # default); with none either, require_platform refuses the file rather than guessing one.
    default_platform: str | None = None
    require_platform: bool = False

    def __post_init__(self) -> None:
        if self.unsure not in ("reject", "classify"):
            raise ValueError(f"unsure must be 'reject' or 'classify', got {self.unsure!r}")
        if self.on_bad_lines not in BAD_LINES:
            raise ValueError(f"on_bad_lines must be one of {', '.join(BAD_LINES)}, got {self.on_bad_lines!r}")


def read_table(path: str | Path, columns: dict[str, str] | None = None,
               required: tuple[str, ...] = tuple(REQUIRED), on_bad_lines: str = "error") -> pd.DataFrame:
    """Read a CSV / Parquet / JSONL file as text exactly as written, renamed to hiercat's column names.

    Columns `row` (data rows counted from 1) and `line` (the file line a row starts on; for Parquet the
    row number + 1) identify rows in messages; `read_error` holds why a row cannot be used (a malformed
    CSV record under on_bad_lines="reject", a value of the wrong type), "" for good rows. How values
    become text: `hiercat.catalog_read`. A malformed CSV record under on_bad_lines="error", a duplicate
    or nameless column, a trailing comma on every row or a rename onto an existing column is a
    `CatalogError` naming the file (and the line).
    """
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: file not found")
    if path.is_dir():
        raise CatalogError(f"{path} is a folder; give the catalog file (or a folder holding products.csv)")
    suffix = "".join(path.suffixes[-2:]).lower().removesuffix(".gz")  # gzip is undone by the readers
    if suffix.endswith((".parquet", ".pq")):
        rec = read_parquet_records(path)
    elif suffix.endswith((".jsonl", ".ndjson", ".json")):
        rec = read_jsonl_records(path)
    else:
        rec = read_csv_records(path, on_bad_lines)
    names = _checked_names(path, rec, columns or {})
    width = len(rec.columns)
    df = pd.DataFrame([v if len(v) == width else [""] * width for v in rec.values], columns=names, dtype=object)
    df = df.loc[:, [n != "" for n in names]]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise CatalogError(
            f"{path}: missing required column(s) {', '.join(missing)}; found {', '.join(df.columns)}. "
            "Rename columns with --column FILE_COLUMN=hiercat_column."
        )
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = ""
    df.insert(0, "row", range(1, len(df) + 1))
    df.insert(1, "line", rec.lines)
    df["read_error"] = rec.errors
    return df


def _checked_names(path: Path, rec: Records, columns: dict[str, str]) -> list[str]:
    """Header names after renames; a duplicate, a nameless column holding values, or a rename clash is an error."""
    names = [str(c).strip() for c in rec.columns]
    for j, name in enumerate(names):
        if name == "" and any(len(v) > j and v[j].strip() for v in rec.values):
            raise CatalogError(f"{path}: column {j + 1} has no name in the header but holds values; name it")
    for old, new in columns.items():
        if old not in names:
            raise CatalogError(f"{path}: --column {old}={new}: the file has no column {old!r}; "
                               f"it has {', '.join(n for n in names if n)}")
        if new in names and new != old and new not in columns:
            raise CatalogError(f"{path}: --column {old}={new}: the file already has a column {new!r}; "
                               f"rename that one too (--column {new}=other) or drop it from the file")
    renamed = [columns.get(n, n) for n in names]
    seen: dict[str, int] = {}
    for j, name in enumerate(renamed):
        if name and name in seen:
            raise CatalogError(f"{path}: column {name!r} appears twice (columns {seen[name] + 1} and {j + 1}); "
                               "keep one, or rename one with --column")
        seen.setdefault(name, j)
    return renamed


# Cell values that mean "no value" (pandas, SQL and spreadsheet exports write them for empty cells).
PLACEHOLDERS = frozenset({"nan", "none", "null", "nil", "n/a", "#n/a", "undefined"})
# Characters that are not whitespace to str.strip() but are invisible: zero-width space/joiners, word
# joiner, BOM, soft hyphen.
_EDGES = re.compile(r"^[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]+|[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]+$")


def clean_text(value: str) -> str:
    """A cell as a user means it: Unicode whitespace and invisible characters stripped at both ends.

    This is the one normalization of ids too: `product_id` is otherwise kept exactly as written
    (case, leading zeros); integral numbers from Parquet / JSON are written without decimals
    (`hiercat.catalog_read.cell_text`).
    """
    return _EDGES.sub("", value)


def derive_brands(titles: pd.Series) -> pd.Series:
    """Brand = the title's words before the audience word ('Men', 'Women', ...).

    Titles with no audience word take the longest brand learned from the others that starts
    them, else their first word.
    """
    titles = titles.fillna("").astype(str)
    found = titles.map(lambda t: t[: m.start()].strip() if (m := _AUDIENCE.search(t)) and m.start() > 0 else "")
    known = sorted({b for b in found if b}, key=len, reverse=True)

    def fallback(title: str) -> str:
        for b in known:
            if title.startswith(b + " "):
                return b
        return title.split(" ", 1)[0] if title else ""

    return pd.Series([f or fallback(t) for f, t in zip(found, titles)], index=titles.index)


@dataclass
class ValidatedCatalog:
    """Rows ready to embed (with `path` parts and `image_path`) and rejected rows with reasons."""

    rows: pd.DataFrame
    rejects: pd.DataFrame
    source: Path


def validate(df: pd.DataFrame, source: str | Path, options: CatalogOptions) -> ValidatedCatalog:
    """Check rows without loading images: ids, titles, categories, mapping, image files present.

    Images are decoded later, batch by batch during ingest, where corrupt files are rejected.
    """
    source = Path(source)
    base = source.parent
    df = df.copy()
    if "read_error" not in df.columns:
        df["read_error"] = ""
    if "line" not in df.columns:
        df["line"] = df["row"] + 1
    placeholder: dict[str, pd.Series] = {}
    for c in COLUMNS:
        df[c] = df[c].fillna("").astype(str).map(clean_text)
        is_placeholder = df[c].str.lower().isin(PLACEHOLDERS)
        placeholder[c] = df[c].where(is_placeholder, "")
        df.loc[is_placeholder, c] = ""
    if options.platform:
        df["platform"] = clean_text(options.platform)
    if options.default_platform:
        df.loc[df["platform"] == "", "platform"] = options.default_platform
    no_platform = (df["platform"] == "") & (df["read_error"] == "")
    if options.require_platform and no_platform.any() and no_platform.sum() == (df["read_error"] == "").sum():
        raise CatalogError(f"{source}: no row names a platform (no platform column, or it is empty) and none is "
                           "given; pass --platform NAME (the store then keeps it as its default platform)")
    use_title_brand = options.brand_from_title
    if use_title_brand is None:
        use_title_brand = bool((df["brand"] == "").all())
    if use_title_brand:
        empty = df["brand"] == ""
        df.loc[empty, "brand"] = derive_brands(df.loc[empty, "title"])

    reasons: dict[int, str] = {}

    def reject(mask: pd.Series, reason) -> None:
        for i in df.index[mask]:
            if i not in reasons:
                reasons[i] = reason(i) if callable(reason) else reason

    reject(df["read_error"] != "", lambda i: df.at[i, "read_error"])
    for c in ("product_id", "title", "category"):
        reject(placeholder[c] != "", lambda i, c=c: f"{c} is the placeholder {placeholder[c][i]!r}, not a value")
    reject(df["product_id"] == "", "missing product_id")
    if options.require_platform:
        reject(df["platform"] == "", "missing platform (the platform column is empty here)")
    reject(df["title"] == "", "missing title")  # invisible characters alone count as none (clean_text)
    if options.require_category:
        reject(df["category"] == "", "missing category")
    sep_token = options.sep.strip() or options.sep
    empty_level = df["category"].map(lambda c: bool(c) and any(not p.strip() for p in c.split(sep_token)))
    reject(empty_level, lambda i: f"category {df.at[i, 'category']!r} has an empty level")
    key = df["platform"] + "\x00" + df["product_id"]
    dup = key.duplicated(keep="first") & (df["product_id"] != "")
    first_row = dict(zip(key[~key.duplicated(keep="first")], df["row"][~key.duplicated(keep="first")]))
    reject(dup, lambda i: f"duplicate product_id {df.at[i, 'product_id']!r} (first at row {first_row[key[i]]})")

    native = df["category"].map(lambda c: split_path(c, options.sep))
    df["native_path"] = native.map(join_path)
    df["classify"] = False
    if options.mapping is not None:
        status = native.map(lambda n: options.mapping.unsure.get(n, ""))
        unsure = (status != "") & (df["category"] != "")
        if options.unsure == "classify":
            df["classify"] = unsure
        else:
            source_name = options.mapping.source or "the mapping"
            reject(unsure, lambda i: f"category {df.at[i, 'native_path']!r} is marked {status[i]!r} in {source_name}: "
                                     "not guessed; set its target and status there, or ingest with --unsure classify")
        target = native.map(options.mapping.lookup)
        unmapped = target.isna() & (df["category"] != "") & ~df["classify"] if options.require_category \
            else pd.Series(False, index=df.index)
        reject(unmapped, lambda i: f"unmapped category {df.at[i, 'native_path']!r}")
        df["path"] = target.map(lambda t: join_path(t) if t else "")
    else:
        df["path"] = df["native_path"]

    df["image_path"] = ""
    has_image = df["image"] != ""
    df.loc[has_image, "image_path"] = df.loc[has_image, "image"].map(
        lambda p: str(Path(p) if Path(p).is_absolute() else (base / p))
    )
    if options.check_images:
        missing = has_image & ~df["image_path"].map(lambda p: bool(p) and Path(p).is_file())
        reject(missing, lambda i: f"image not found: {df.at[i, 'image']}")

    bad = df.index.isin(list(reasons))
    rejects = df.loc[bad, ["row", "line", "product_id", "platform", "title", "category"]].copy()
    rejects["reason"] = [reasons[i] for i in rejects.index]
    rejects["source"] = str(source)
    return ValidatedCatalog(rows=df.loc[~bad].reset_index(drop=True), rejects=rejects.reset_index(drop=True), source=source)


def write_rejects(rejects: pd.DataFrame, file: str | Path) -> None:
    """Write rejected rows (source, row, product_id, reason, ...) to a CSV file."""
    cols = ["source", "row", "line", "product_id", "platform", "title", "category", "reason"]
    Path(file).parent.mkdir(parents=True, exist_ok=True)
    rejects.reindex(columns=cols).to_csv(file, index=False, quoting=csv.QUOTE_MINIMAL)
