"""recluster.naming: cluster names from title terms."""

from __future__ import annotations

import numpy as np

from hiercat.recluster.naming import name_clusters


def test_names_skip_brands_colours_and_audience() -> None:
    titles = ["Nike Men Black Running Shoes", "Puma Men White Running Shoes", "Nike Women Red Running Shoes",
              "Puma Women Pink Flip Flops", "Nike Men Blue Flip Flops", "Puma Unisex Black Flip Flops"]
    names = name_clusters(titles, np.array([0, 0, 0, 1, 1, 1]), brands=["Nike", "Puma"] * 3,
                          colours=["Black", "White", "Red", "Pink", "Blue", "Black"])
    assert names[0].name == "Running Shoes"
    assert names[1].name == "Flip Flops"
    words = {w for n in names.values() for t, _ in n.terms for w in t.split()}
    assert not words & {"nike", "puma", "black", "men", "women", "unisex"}


def test_a_rare_exclusive_word_does_not_name_a_cluster() -> None:
    # Cluster 0: 77 plain "shoes" and 3 "Wynne" shoes; cluster 1: sandals. Inside Shoes, 'shoes' says
    # nothing, and 'wynne' is exclusive to cluster 0 (high idf) but in under 5 % of it: before, the
    # cluster was proposed as "Wynne Shoes" (579 real Myntra shoes, 6 of them Wynne).
    titles = ["Puma Men Black Shoes"] * 40 + ["Gas Men Brown Shoes"] * 37 + ["Gas Men Wynne Shoes"] * 3
    titles += ["Catwalk Women Sandals"] * 30
    labels = np.array([0] * 80 + [1] * 30)
    names = name_clusters(titles, labels, brands=[t.split()[0] for t in titles], reserved=["Shoes"])
    assert names[0].name == "Shoes 2" and names[1].name == "Sandals"
    assert all("wynne" not in t for t, _ in names[0].terms)
