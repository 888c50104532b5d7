"""Training time per epoch: the previous default of `hiercat train` beside today's, on the same stored products, one run.

Previous default: late fusion of every vector of the earlier schema (MiniLM title + brand, SimCLR image,
hashed title n-grams). Today's: early fusion of the `shops` inputs (pooled product words + description,
pooled title + description n-grams, image), with modality dropout. Both on the 64 % training part of
the store's products, batch 128, as `hiercat train` runs them.

    python bench/bench_train_speed.py --store runs/store2 --epochs 3
"""

from __future__ import annotations

import argparse

import torch
from rich.console import Console
from rich.table import Table

from hiercat.experiment import (
    DEFAULT_FUSION,
    DEFAULT_MODALITIES,
    Split,
    label_paths,
    load_training_data,
    resolve_modalities,
    shops_model_kwargs,
)
from hiercat.model import inputs_from_stored, train_classifier
from hiercat.store import open_store
from hiercat.taxonomy import Taxonomy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default="runs/store2")
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    store = open_store(path=args.store)
    try:
        products = load_training_data(store)
    finally:
        store.close()
    paths = label_paths(products)
    split = Split.make(paths, 0)
    inputs = inputs_from_stored(products)
    train_in, train_paths = inputs.take(split.train), [paths[i] for i in split.train]
    val = (inputs.take(split.val), [paths[i] for i in split.val])
    tax = Taxonomy.from_paths(paths)
    old = [n for n in ("minilm_title", "minilm_brand", "simclr_image", "lex_title") if n in inputs.names]
    new = resolve_modalities(DEFAULT_MODALITIES, inputs)
    table = Table(title=f"seconds per training epoch, {len(train_paths)} rows, torch threads {torch.get_num_threads()}")
    for col in ("configuration", "modalities", "s / epoch", "ms / batch of 128"):
        table.add_column(col)
    for name, fusion, mods, extra in (("previous default", "late", old, {}),
                                      ("today's default", DEFAULT_FUSION, new, shops_model_kwargs(inputs, new))):
        _, history = train_classifier(train_in, train_paths, tax, fusion=fusion, modalities=mods, epochs=args.epochs,
                                      patience=args.epochs + 1, val=val, progress=False, **extra)
        per_epoch = sum(e["seconds"] for e in history.epochs) / len(history.epochs)
        table.add_row(name, ", ".join(mods), f"{per_epoch:.1f}", f"{1000 * per_epoch / (len(train_paths) / 128):.1f}")
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
