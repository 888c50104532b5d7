"""Proposed cluster names: the title terms most distinctive of each cluster (class-based TF-IDF)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def _pick_name(terms: list[tuple[str, float]], taken: set[str], vague: set[str]) -> str:
    """The best-scoring term that says something new (not only `vague` words) and is not taken."""
    useful = [(t, s) for t, s in terms if not set(t.split()) <= vague]
    for i, (term, score) in enumerate(useful):
        # 'flip flops' says more than 'flip': prefer a bigram holding the word if it scores close.
        for t, s in useful[i + 1: i + 4]:
            if " " in t and " " not in term and term in t.split() and s >= 0.6 * score:
                term = t
                break
        if term.lower() not in taken:
            return term.title()
    return _numbered((useful or terms or [("Other", 0.0)])[0][0].title(), taken)


def _numbered(base: str, taken: set[str]) -> str:
    name, i = base, 2
    while name.lower() in taken:
        name = f"{base} {i}"
        i += 1
    return name


def name_clusters(
    titles: Sequence[str],
    labels: np.ndarray,
    brands: Iterable[str] = (),
    colours: Iterable[str] = (),
    top_n: int = 8,
    stop: set[str] | None = None,
    reserved: Iterable[str] = (),
    unnamable: set[str] = frozenset(),
) -> dict[int, ClusterName]:
    """Proposed name and top terms of every cluster, names distinct among the clusters given.

    `reserved` are the names above (the category, the parent cluster): a name made only of their
    words ('Shoes', or 'Formal' inside 'Formal Shoes') says nothing new and is never proposed;
    nor is one made only of `unnamable` words (product lines such as 'Air', see terms.py), which
    still show among the top terms.
    """
    titles = [str(t) for t in titles]
    stop = stop if stop is not None else stop_terms(brands, titles, colours)
    scores, terms, uniq = ctfidf(titles, labels, stop)
    reserved = list(reserved)
    vague = word_forms(reserved) | set(unnamable)
    taken: set[str] = {r.lower() for r in reserved}
    out: dict[int, ClusterName] = {}
    # Larger clusters choose first, so the main shape gets the plain name and a tail cluster the qualified one.
    order = sorted(range(len(uniq)), key=lambda i: -int((np.asarray(labels) == uniq[i]).sum()))
    for i in order:
        row = scores[i] if len(terms) else np.zeros(0)
        best = np.argsort(-row)[:top_n] if len(terms) else []
        top = [(terms[j], round(float(row[j]), 4)) for j in best if row[j] > 0]
        # Look further down the ranking for the name than what is shown as top terms.
        more = [(terms[j], float(row[j])) for j in np.argsort(-row)[: 4 * top_n] if row[j] > 0] if len(terms) else []
        name = _pick_name(more or top, taken, vague)
        taken.add(name.lower())
        out[int(uniq[i])] = ClusterName(name=name, terms=top)
    return out


def _ancestors(cid: str) -> list[str]:
    parts = cid.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def name_tree(titles: Sequence[str], ids: Sequence[np.ndarray], stop: set[str],
              reserved: Iterable[str] = (), unnamable: set[str] = frozenset()) -> dict[str, ClusterName]:
    """Names for every cluster id of a cascade ("3", "3.2", ...), each level named against its siblings.

    A sub-cluster is named by what sets it apart inside its parent, never only with the category's
    or an ancestor's words ('Formal' inside 'Formal Shoes' would say nothing about the sub-group).
    """
    titles = np.asarray([str(t) for t in titles], dtype=object)
    reserved = list(reserved)
    names: dict[str, ClusterName] = {}
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
                                reserved=[*reserved, *above], unnamable=unnamable)
            names.update({c: got[i] for c, i in code.items()})
    return names
