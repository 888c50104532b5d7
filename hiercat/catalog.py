"""Reading product catalogs (CSV / Parquet / JSONL) into one schema and validating their rows."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .mapping import CategoryMapping
from .taxonomy import SEP, join_path, split_path

COLUMNS = [
    "product_id", "platform", "title", "brand", "description", "image", "category",
    "gender", "colour", "season", "year", "usage", "price",
]
REQUIRED = ["product_id", "title", "category"]

# Words that end a brand prefix in titles such as "Peter England Men Party Blue Jeans".
_AUDIENCE = re.compile(r"\b(Men|Mens|Men's|Women|Womens|Women's|Unisex|Boys|Girls|Boy|Girl|Kids|Baby|Infant|Infants)\b")


class CatalogError(ValueError):
    """A catalog file that cannot be read at all; the message names the file and, if known, the line."""


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

    def __post_init__(self) -> None:
        if self.unsure not in ("reject", "classify"):
            raise ValueError(f"unsure must be 'reject' or 'classify', got {self.unsure!r}")


def read_table(path: str | Path, columns: dict[str, str] | None = None,
               required: tuple[str, ...] = tuple(REQUIRED)) -> pd.DataFrame:
    """Read a CSV / Parquet / JSONL file as strings, renamed to hiercat's column names."""
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: file not found")
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith(".parquet") or suffix.endswith(".pq"):
            df = pd.read_parquet(path)
            df = df.astype(object).where(df.notna(), "")
            df = df.map(lambda v: "" if v is None else str(v))
        elif suffix.endswith(".jsonl") or suffix.endswith(".ndjson") or suffix.endswith(".json"):
            df = _read_jsonl(path)
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False,
                             encoding="utf-8", engine="c")
    except CatalogError:
        raise
    except pd.errors.ParserError as exc:
        raise CatalogError(f"{path}: cannot parse CSV: {_line_of(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text (byte {exc.start}): {exc.reason}") from exc
    except Exception as exc:  # pyarrow and friends raise many types; the user needs the file name
        raise CatalogError(f"{path}: cannot read: {exc}") from exc
    if columns:
        df = df.rename(columns=columns)
    df.columns = [str(c).strip() for c in df.columns]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise CatalogError(
            f"{path}: missing required column(s) {', '.join(missing)}; found {', '.join(df.columns)}. "
            "Rename columns with --column FILE_COLUMN=hiercat_column."
        )
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = ""
    # Row numbers as a user sees them: data rows counted from 1 (header excluded).
    df.insert(0, "row", range(1, len(df) + 1))
    return df


def _read_jsonl(path: Path) -> pd.DataFrame:
    records = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CatalogError(f"{path}:{lineno}: invalid JSON: {exc.msg}") from exc
            if not isinstance(obj, dict):
                raise CatalogError(f"{path}:{lineno}: expected a JSON object per line")
            records.append({k: "" if v is None else str(v) for k, v in obj.items()})
    return pd.DataFrame.from_records(records)


def _line_of(exc: Exception) -> str:
    msg = str(exc).strip()
    m = re.search(r"line (\d+)", msg)
    return f"line {m.group(1)}: {msg}" if m else msg


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
    for c in COLUMNS:
        df[c] = df[c].fillna("").astype(str).str.strip()
    if options.platform:
        df["platform"] = options.platform
    df.loc[df["platform"] == "", "platform"] = source.parent.name or "default"
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

    reject(df["product_id"] == "", "missing product_id")
    reject(df["title"] == "", "missing title")
    if options.require_category:
        reject(df["category"] == "", "missing category")
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
    rejects = df.loc[bad, ["row", "product_id", "platform", "title", "category"]].copy()
    rejects["reason"] = [reasons[i] for i in rejects.index]
    rejects["source"] = str(source)
    return ValidatedCatalog(rows=df.loc[~bad].reset_index(drop=True), rejects=rejects.reset_index(drop=True), source=source)


def write_rejects(rejects: pd.DataFrame, file: str | Path) -> None:
    """Write rejected rows (source, row, product_id, reason, ...) to a CSV file."""
    cols = ["source", "row", "product_id", "platform", "title", "category", "reason"]
    Path(file).parent.mkdir(parents=True, exist_ok=True)
    rejects.reindex(columns=cols).to_csv(file, index=False, quoting=csv.QUOTE_MINIMAL)
