"""Free-text search over every text field a store embeds: the title, its product words and the description.

A shop whose titles are product names ("Vaughan sneaker", "Henry court PQ") says what the product is in
its description ("Trainers with lacing at the front ..."); a query searched against the title vector
alone finds shorts and socks for "red running shoes" in H&M and no shoe. `search_text` searches the
title and description vectors of the store's text encoder and scores each product by its nearest
text (the higher cosine of the two): a product is found by whichever of its texts says what the query
says, a product name by its title, a product type by its description, and a shop without descriptions
(zero description vectors, skipped) by its titles as before.

Why the maximum of title and description: on 48 H&M products (12 each of shoes, shorts, socks,
dresses) and nine type queries, the top 5 held the queried type 40 times in 45 by it, 30 by reciprocal
rank fusion of the five text and n-gram vectors, 21 by the title alone; and only the maximum still
finds a product by its name. The product-words vector is left out: it is the title without brand and
colour, so it adds no text, and the bare type words of a query ("running shoes") match any title
naming them ("3p Sneaker Socks") more closely than the title does. The product-words and n-gram
vectors stay searchable one at a time (`--vector`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .product_words import product_words
from .store.base import Filter, VectorStore

TEXT_FIELDS = ("title", "description")


@dataclass
class TextHit:
    """A product found by text: its score (the best cosine over its texts), payload, and the cosine per vector."""

    id: str
    score: float
    payload: dict[str, Any]
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def best_vector(self) -> str:
        """The vector whose text was nearest to the query."""
        return max(self.scores, key=self.scores.__getitem__)


def text_vectors(store: VectorStore) -> list[str]:
    """The store's vectors a text query is searched against: the text encoder's title and description vectors."""
    from .store.schema import read_schema

    return read_schema(store).require_preset().names(field=TEXT_FIELDS, role="text")


def search_text(store: VectorStore, query: str, k: int = 10, filter: Filter | None = None,
                vectors: Sequence[str] | None = None, preset: Any = None, depth: int | None = None) -> list[TextHit]:
    """The k products nearest to `query` by their nearest text: the highest cosine over `vectors`.

    vectors: text-encoder vectors to search (default `text_vectors(store)`); preset: the store's
    encoders (rebuilt from its metadata when None); depth: hits taken from each vector (default
    max(5 k, 50)). A product-words vector, if given, is searched with the query's product words (no
    colour or audience words), as the stored ones were made from titles.
    """
    from .encoders import preset_from_meta
    from .store.schema import read_schema

    record = read_schema(store).require_preset()
    names = list(vectors) if vectors is not None else text_vectors(store)
    if not names:
        raise ValueError("the store has no text vectors to search")
    for name in names:
        if record.spec(name).role != "text":
            raise ValueError(f"{name} is an {record.spec(name).role} vector; search_text compares text-encoder "
                             "vectors (search one other vector with VectorStore.search)")
    preset = preset or preset_from_meta(store.get_meta())
    depth = depth or max(5 * k, 50)
    found: dict[str, TextHit] = {}
    for name in names:
        field_name = record.spec(name).field
        qvec = preset.encode_text([product_words(query) if field_name == "words" else query])[0]
        for hit in store.search(name, qvec, k=depth, filter=filter):
            if not str(hit.payload.get(field_name if field_name != "words" else "title", "")).strip():
                continue  # no such text (a zero vector): no evidence either way
            got = found.setdefault(hit.id, TextHit(hit.id, float("-inf"), hit.payload))
            got.scores[name] = float(hit.score)
            got.score = max(got.score, float(hit.score))
    return sorted(found.values(), key=lambda h: -h.score)[:k]
