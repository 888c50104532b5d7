"""Title words that say what a product is: titles without brand, colour and audience words, and their vectors."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from ..encoders.base import TextEncoder
from ..product_words import AUDIENCE, COLOURS

TOKEN = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words of 2+ letters: model numbers and sizes are not names
# English stop words that name a product or its cut in shop titles: 'top' is the type of 1,645
# Myntra + H&M titles ('Crop Top', 'Vest top'), 'full' / 'front' / 'back' / 'side' say the cut. Shoes
# never needed them ('hi-top' is a compound), so sklearn's list dropped them unnoticed; the clustering's
# words and terms keep them (bench/RESULTS.md, "Recluster beyond shoes"). Names still use the full list.
# A single letter joined by a hyphen names the product with the word after it: 'T-shirt' is not a
# 'shirt' (4,377 Myntra titles say T-shirt, 1,055 Tshirt), 'V-neck', 'A-line'. Tokens of 2+ letters
# dropped the letter, so the clustering saw T-shirts and shirts as one word; it now sees 'tshirt'.
_LETTER_PREFIX = re.compile(r"(?<![^\W\d_])([^\W\d_])-(?=[^\W\d_]{2})")
PRODUCT_STOP_WORDS = frozenset({"top", "bottom", "full", "front", "back", "side", "thin", "thick"})
FEATURE_STOP_WORDS = frozenset(ENGLISH_STOP_WORDS - PRODUCT_STOP_WORDS)


def tokens(text: str) -> list[str]:
    """Lowercased words of 2+ letters."""
    return re.findall(TOKEN, text.lower())


def stop_terms(brands: Iterable[str], titles: Sequence[str] | np.ndarray, colours: Iterable[str] = (),
               english: Iterable[str] = ENGLISH_STOP_WORDS) -> set[str]:
    """Words to keep out of names: `english` stop words, audience, colour words and brand-only words.

    A brand word is kept when titles use it far more often than that brand's products do (e.g. a
    brand called 'Sports' must not ban 'sports' from 'Sports Shoes').
    """
    title_tokens = [set(tokens(t)) for t in titles]
    brand_tokens = [set(tokens(b)) for b in brands]
    in_titles: dict[str, int] = {}
    for ts in title_tokens:
        for t in ts:
            in_titles[t] = in_titles.get(t, 0) + 1
    in_brands: dict[str, int] = {}
    for bs in brand_tokens:
        for t in bs:
            in_brands[t] = in_brands.get(t, 0) + 1
    brandish = {t for t, c in in_brands.items() if in_titles.get(t, 0) <= 2 * c}
    colour_words = {t for c in colours for t in tokens(str(c))}
    return set(english) | AUDIENCE | COLOURS | colour_words | brandish


def product_line_words(titles: Sequence[str] | np.ndarray, brands: Sequence[str] | np.ndarray,
                       platforms: Sequence[str] | np.ndarray | None = None,
                       min_products: int = 3, share: float = 0.8) -> set[str]:
    """Title words that one brand uses almost alone ('air', 'larkin'): product lines, not kinds of product.

    Judged only inside platforms selling several brands; a single-brand shop (H&M) says nothing
    about whether 'boot' is a brand's word or a product type.
    """
    platforms = list(platforms) if platforms is not None else [""] * len(titles)
    by_platform: dict[str, list[int]] = {}
    for i, p in enumerate(platforms):
        by_platform.setdefault(str(p), []).append(i)
    out: set[str] = set()
    for rows in by_platform.values():
        if len({str(brands[i]).lower() for i in rows}) < 5:
            continue
        counts: dict[str, dict[str, int]] = {}
        for i in rows:
            b = str(brands[i]).lower()
            for w in set(tokens(str(titles[i]))):
                counts.setdefault(w, {}).setdefault(b, 0)
                counts[w][b] += 1
        for w, per_brand in counts.items():
            total = sum(per_brand.values())
            if total >= min_products and len(per_brand) and max(per_brand.values()) >= share * total:
                out.add(w)
    return out


def clean_titles(titles: Sequence[str] | np.ndarray, brands: Iterable[str] = (), colours: Iterable[str] = (),
                 stop: set[str] | None = None) -> list[str]:
    """Titles reduced to their product words: 'Puma Men Black Running Shoes' -> 'running shoes'.

    Without `stop`, the stop words are `stop_terms` with `FEATURE_STOP_WORDS` ('Crop Top' keeps 'top').
    A one-letter prefix stays with its word: 'Men Navy T-Shirt' -> 'tshirt', not 'shirt'.
    """
    titles = [str(t) for t in titles]
    stop = stop if stop is not None else stop_terms(brands, titles, colours, FEATURE_STOP_WORDS)
    return [" ".join(w for w in tokens(_LETTER_PREFIX.sub(r"\1", t)) if w not in stop) for t in titles]


def titles_or_cleaned(titles: Sequence[str] | np.ndarray, brands: Iterable[str] = (), colours: Iterable[str] = (),
                      stop: set[str] | None = None) -> list[str]:
    """`clean_titles`, with the lowercased whole title where cleaning leaves nothing.

    A title that is nothing but brand and colour still says more than an empty one would.
    """
    return [c or str(t).lower().strip() for c, t in zip(clean_titles(titles, brands, colours, stop), titles)]


def term_vectors(encoder: TextEncoder, titles: Sequence[str] | np.ndarray, brands: Iterable[str] = (),
                 colours: Iterable[str] = ()) -> np.ndarray:
    """Text-encoder vectors of the cleaned titles, each distinct cleaned title encoded once.

    Stored title vectors are dominated by brand and colour ('Puma Men Black ...'), so clustering
    them groups brands; the cleaned titles keep what the product is (a zero row if nothing is left).
    """
    cleaned = titles_or_cleaned(titles, brands, colours)
    uniq = sorted({c for c in cleaned if c})
    dim = int(encoder.dim)
    out = np.zeros((len(cleaned), dim), dtype=np.float32)
    if uniq:
        vecs = np.asarray(encoder.encode(uniq), dtype=np.float32)
        row = {u: i for i, u in enumerate(uniq)}
        for i, c in enumerate(cleaned):
            if c:
                out[i] = vecs[row[c]]
    return out


def word_vectors(titles: Sequence[str] | np.ndarray, brands: Iterable[str] = (), colours: Iterable[str] = (),
                 dim: int = 64, min_df: int = 3, seed: int = 0) -> np.ndarray:
    """LSA of the cleaned titles: TF-IDF over word 1-2-grams, truncated SVD to `dim`, fitted on these titles.

    Unlike `term_vectors` it needs no text encoder, and it keeps the exact type words ('flip flops',
    'wedges') that a sentence encoder blurs with their neighbours: on the shoes of Myntra + H&M,
    8 clusters of words alone are 6 points purer than of encoded terms (bench/RESULTS.md). Words in
    fewer than `min_df` titles are model names, not kinds of product. A zero row where nothing is left.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    cleaned = clean_titles(titles, brands, colours)
    out = np.zeros((len(cleaned), dim), dtype=np.float32)
    if not any(cleaned):
        return out
    m = None
    for df in sorted({min(min_df, len(cleaned)), 1}, reverse=True):  # a tiny selection may share no word 3 times
        try:
            m = TfidfVectorizer(min_df=df, ngram_range=(1, 2), sublinear_tf=True).fit_transform(cleaned)
            break
        except ValueError:  # empty vocabulary at this min_df
            continue
    if m is None or m.shape[1] < 2:
        return out
    k = min(dim, m.shape[1] - 1, len(cleaned) - 1)
    if k < 1:
        return out
    out[:, :k] = TruncatedSVD(k, random_state=seed).fit_transform(m).astype(np.float32)
    return out
