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


def test_names_are_distinct_in_the_whole_tree_singular_or_plural() -> None:
    from hiercat.recluster.naming import name_key, name_tree

    # level 1: casual shoes | sports shoes; inside sports shoes: casual-looking trainers | running shoes
    titles = (["Roadster Men Casual Shoes"] * 10 + ["Nike Men Casual Shoe Trainers"] * 5
              + ["Puma Men Running Sports Shoes"] * 10)
    l1 = np.array(["0"] * 10 + ["1"] * 15)
    l2 = np.array(["0"] * 10 + ["1.0"] * 5 + ["1.1"] * 10)
    names = name_tree(titles, [l1, l2], stop={"roadster", "nike", "puma", "men"}, reserved=["Shoes"])
    keys = [name_key(n.name) for n in names.values()]
    assert len(keys) == len(set(keys)), {c: n.name for c, n in names.items()}
    assert name_key("Casual Shoes") == name_key("casual shoe") and name_key("Dresses") == name_key("Dress")


def test_a_word_said_in_a_phrase_is_named_by_the_phrase() -> None:
    titles = (["Puma Men Flip Flops"] * 8 + ["Nike Men Hi-Top Sneakers"] * 8 + ["Gas Men Formal Shoes"] * 8)
    names = name_clusters(titles, np.array([0] * 8 + [1] * 8 + [2] * 8), brands=[t.split()[0] for t in titles],
                          reserved=["Shoes"])
    got = {names[i].name for i in range(3)}
    assert "Flip Flops" in got and "Flip" not in got and "Hi" not in got
    assert names[1].name == "Hi-Top Sneakers"  # not "Hi Sneakers": "top" is an English stop word


def test_a_product_line_never_names_a_cluster() -> None:
    from hiercat.recluster.terms import product_line_words

    # Lunarswift and Dual Fusion are Nike's lines, said by Nike alone in a shop of many brands
    titles = (["Nike Men Lunarswift Sports Shoes"] * 6 + ["Nike Men Dual Fusion Sports Shoes"] * 6
              + [f"{b} Men Sports Shoes" for b in ("Puma", "Adidas", "Asics", "Reebok", "Fila", "Skechers")]
              + [f"{b} Women Heels" for b in ("Catwalk", "Mochi", "Inc", "Bata", "Metro", "Clarks")] * 2)
    brands = [t.split()[0] for t in titles]
    lines = product_line_words(titles, brands, ["myntra"] * len(titles))
    assert {"lunarswift", "dual", "fusion"} <= lines
    labels = np.array([0] * 6 + [1] * 6 + [2] * 6 + [3] * 12)
    names = name_clusters(titles, labels, brands=brands, reserved=["Shoes"], unnamable=lines)
    for n in names.values():
        assert not set(n.name.lower().split()) & lines, n.name


def test_sub_clusters_are_named_by_whole_phrases() -> None:
    from hiercat.recluster.naming import name_tree

    # inside Flip Flops: casual flip flops | plain flip flops (nothing sets them apart but 'casual')
    titles = ["Puma Men Casual Flip Flops"] * 6 + ["Nike Men Flip Flops"] * 6 + ["Gas Men Leather Formal Shoes"] * 6
    l1 = np.array(["0"] * 12 + ["1"] * 6)
    l2 = np.array(["0.0"] * 6 + ["0.1"] * 6 + ["1"] * 6)
    names = {c: n.name for c, n in name_tree(titles, [l1, l2], stop={"puma", "nike", "gas", "men"},
                                             reserved=["Shoes"]).items()}
    assert names["0"] == "Flip Flops" and names["0.0"] == "Casual Flip Flops"
    assert names["0.1"] == "Flip Flops 2"  # no fragment ('Flip'): the parent's phrase, numbered
    assert names["1"] == "Leather Formal Shoes"
