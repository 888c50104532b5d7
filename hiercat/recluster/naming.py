"""Proposed cluster names: the title terms most distinctive of each cluster (class-based TF-IDF)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from .terms import TOKEN, stop_terms, tokens


@dataclass
class ClusterName:
    """A cluster's proposed name and its top distinctive terms with c-TF-IDF scores."""

    name: str
    terms: list[tuple[str, float]]


def word_forms(words: Iterable[str]) -> set[str]:
    """Lowercased words with their naive singular/plural forms ('shoes' -> shoes, shoe)."""
    out: set[str] = set()
    for w in words:
        for t in tokens(w):
            out |= {t, t + "s", t[:-1] if t.endswith("s") else t}
    return out


def ctfidf(titles: Sequence[str], labels: np.ndarray, stop: set[str], ngram_range: tuple[int, int] = (1, 2),
           min_products: int = 2, min_share: float = 0.05) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Class-based TF-IDF: [clusters, terms] scores, the terms and the cluster labels in row order.

    tf is the share of a cluster's products whose title has the term (so a long title does not
    count twice), idf = log(1 + mean products per cluster / products with the term anywhere).
    A term in less than `min_share` of a cluster's titles scores 0 there: six 'Wynne' shoes
    among 579 are exclusive enough for a high idf, but they do not describe the cluster.
    """
    labels = np.asarray(labels)
    uniq = np.unique(labels)
    docs = [" ".join(t for t in tokens(s) if t not in stop) for s in titles]
    vec = CountVectorizer(ngram_range=ngram_range, binary=True, token_pattern=TOKEN, lowercase=False,
                          min_df=min(min_products, max(1, len(docs))))
    try:
        M = vec.fit_transform(docs)
    except ValueError:  # every title was only stop words
        return np.zeros((len(uniq), 0)), [], uniq
    terms = list(vec.get_feature_names_out())
    # 'formal formal' appears where a brand word between two equal words was removed: an artefact.
    keep = np.array([len(set(t.split())) == len(t.split()) for t in terms])
    M = M[:, np.flatnonzero(keep)]
    terms = [t for t, k in zip(terms, keep) if k]
    per_cluster = np.vstack([np.asarray(M[labels == c].sum(axis=0)).ravel() for c in uniq]).astype(float)
    sizes = np.array([(labels == c).sum() for c in uniq], dtype=float)
    tf = per_cluster / sizes[:, None]
    idf = np.log1p(sizes.mean() / np.maximum(per_cluster.sum(axis=0), 1.0))
    return np.where(tf >= min_share, tf * idf, 0.0), terms, uniq


def name_key(name: str) -> str:
    """What makes two names the same: 'Casual Shoes' and 'casual shoe' are one name (case, naive plurals)."""
    def singular(w: str) -> str:
        if w.endswith("es") and w[:-2].endswith(("s", "sh", "ch", "x")) and not w.endswith("sses"):
            return w[:-2]
        if w.endswith("sses"):
            return w[:-2]
        return w[:-1] if w.endswith("s") and not w.endswith("ss") and len(w) > 3 else w

    return " ".join(singular(w) for w in name.lower().split())


def phrase_completer(docs: Sequence[str], titles: Sequence[str] = (), share: float = 0.7):
    """A function completing a term whose word is nearly always said as part of a phrase in a cluster.

    'flip' -> 'flip flops' (the two-word phrase of `docs`, the cleaned titles) and 'hi sneakers' ->
    'hi-top sneakers' (a hyphenated compound of the raw `titles`, whose second half may be a stop
    word), when at least `share` of the titles holding the word say it that way: a name cut from its
    phrase ("Flip", "Hi", "Casual") reads as a fragment.
    """
    from collections import Counter

    grams: Counter[str] = Counter()  # phrases of 1 to 4 words, counted once per title
    for doc in docs:
        toks = doc.split()
        grams.update({" ".join(toks[i:i + n]) for n in range(1, 5) for i in range(len(toks) - n + 1)
                      if len(set(toks[i:i + n])) == n})
    words = grams
    compounds: Counter[str] = Counter()
    for title in titles:
        compounds.update({m.group(0) for m in _COMPOUND.finditer(str(title).lower())})

    def hyphenated(word: str, others: list[str]) -> str:
        best = max((c for c in compounds if word in c.split("-")), key=lambda c: compounds[c], default=None)
        if best is None or compounds[best] < share * max(words[word], 1) or set(best.split("-")) & set(others):
            return word
        return best

    def complete(term: str) -> str:
        # grow the term a word at a time (left or right) while the longer phrase holds `share` of it:
        # 'flip' -> 'flip flops', 'casual flip' -> 'casual flip flops', 'leather formal' -> '... shoes'
        while grams[term] and len(term.split()) < 4:
            longer = [g for g in grams if len(g.split()) == len(term.split()) + 1
                      and (g.startswith(term + " ") or g.endswith(" " + term))]
            best = max(longer, key=lambda g: grams[g], default=None)
            if best is None or grams[best] < share * grams[term]:
                break
            term = best
        parts = term.split()
        return " ".join(hyphenated(w, [o for o in parts if o != w]) for w in parts)

    return complete


_COMPOUND = re.compile(r"\b[^\W\d_]+-[^\W\d_]+\b")


def _pick_name(terms: list[tuple[str, float]], taken: set[str], vague: set[str],
               lines: AbstractSet[str] = frozenset(), complete=lambda t: t) -> str:
    """The best-scoring term that says something new (not only `vague` words), names no product line, is no
    fragment of a phrase and is not taken (by `name_key`)."""
    def says_something(term: str) -> bool:
        words = set(term.split())
        return not words <= vague and not words & lines and max(len(w) for w in words) > 2

    def completed(term: str) -> str:  # a phrase, but never grown into a product line ('lunarswift sports')
        longer = complete(term)
        return term if set(longer.split()) & lines else longer

    useful = [c for c in dict.fromkeys(completed(t) for t, _ in terms) if says_something(c)]
    for term in useful:
        if name_key(term) not in taken:
            return term.title()
    plain = [t for t, _ in terms if not set(t.split()) & lines]
    return _numbered(completed((useful or plain or ["other"])[0]).title(), taken)


def _numbered(base: str, taken: set[str]) -> str:
    name, i = base, 2
    while name_key(name) in taken:
        name = f"{base} {i}"
        i += 1
    return name


def name_clusters(
    titles: Sequence[str] | np.ndarray,
    labels: np.ndarray,
    brands: Iterable[str] = (),
    colours: Iterable[str] = (),
    top_n: int = 8,
    stop: set[str] | None = None,
    reserved: Iterable[str] = (),
    unnamable: AbstractSet[str] = frozenset(),
    taken: set[str] | None = None,
) -> dict[int, ClusterName]:
    """Proposed name and top terms of every cluster, names distinct among the clusters given.

    `reserved` are the names above (the category, the parent cluster): a name made only of their
    words ('Shoes', or 'Formal' inside 'Formal Shoes') says nothing new and is never proposed; nor
    is one holding an `unnamable` word (a product line such as 'Air' or 'Lunarswift', see terms.py),
    which still shows among the top terms. A word nearly always said as part of a phrase is named by
    the phrase ('Flip' -> 'Flip Flops'). `taken`: `name_key`s already in use elsewhere (other levels
    of the tree), updated with the names given here.
    """
    titles = [str(t) for t in titles]
    stop = stop if stop is not None else stop_terms(brands, titles, colours)
    scores, terms, uniq = ctfidf(titles, labels, stop)
    reserved = list(reserved)
    vague = word_forms(reserved) | set(unnamable)
    taken = taken if taken is not None else set()
    taken |= {name_key(r) for r in reserved}
    docs = np.asarray([" ".join(t for t in tokens(s) if t not in stop) for s in titles], dtype=object)
    labels = np.asarray(labels)
    out: dict[int, ClusterName] = {}
    # Larger clusters choose first, so the main shape gets the plain name and a tail cluster the qualified one.
    order = sorted(range(len(uniq)), key=lambda i: -int((np.asarray(labels) == uniq[i]).sum()))
    for i in order:
        row = scores[i] if len(terms) else np.zeros(0)
        best: np.ndarray | list[int] = np.argsort(-row)[:top_n] if len(terms) else []
        top = [(terms[j], round(float(row[j]), 4)) for j in best if row[j] > 0]
        # Look further down the ranking for the name than what is shown as top terms.
        more = [(terms[j], float(row[j])) for j in np.argsort(-row)[: 4 * top_n] if row[j] > 0] if len(terms) else []
        members = labels == uniq[i]
        complete = phrase_completer(docs[members].tolist(), [t for t, m in zip(titles, members) if m])
        name = _pick_name(more or top, taken, vague, set(unnamable), complete)
        taken.add(name_key(name))
        out[int(uniq[i])] = ClusterName(name=name, terms=top)
    return out


def _ancestors(cid: str) -> list[str]:
    parts = cid.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def name_tree(titles: Sequence[str] | np.ndarray, ids: Sequence[np.ndarray], stop: set[str],
              reserved: Iterable[str] = (), unnamable: AbstractSet[str] = frozenset()) -> dict[str, ClusterName]:
    """Names for every cluster id of a cascade ("3", "3.2", ...), each level named against its siblings.

    A sub-cluster is named by what sets it apart inside its parent, never only with the category's
    or an ancestor's words ('Formal' inside 'Formal Shoes' would say nothing about the sub-group).
    """
    titles = np.asarray([str(t) for t in titles], dtype=object)
    reserved = list(reserved)
    names: dict[str, ClusterName] = {}
    taken: set[str] = set()  # one name per sub-category in the whole tree: no 'Casual Shoes' twice
    for level, lab in enumerate(ids, start=1):
        groups = [None] if level == 1 else sorted(set(ids[level - 2]))
        for parent in groups:
            m = np.ones(len(lab), dtype=bool) if parent is None else ids[level - 2] == parent
            subs = sorted(set(lab[m]))
            if level > 1 and len(subs) < 2:
                continue  # an unsplit group keeps its parent's id and name
            code = {c: i for i, c in enumerate(subs)}
            above = [] if parent is None else [names[a].name for a in _ancestors(parent)]
            got = name_clusters(titles[m], np.array([code[c] for c in lab[m]]), stop=stop,
                                reserved=[*reserved, *above], unnamable=unnamable, taken=taken)
            names.update({c: got[i] for c, i in code.items()})
    return names
