"""`hiercat demo`: the whole job on the bundled sample."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .app import (
    GOOGLE_TAXONOMY,
    app,
    console,
    fail,
)
from .classify import classify
from .store import ingest
from .train import train


@app.command()
def demo(
    folder: Path = typer.Option(Path("demo"), help="The bundled demo sample (myntra/ and mappings/)."),
    work: Path = typer.Option(Path("hiercat-demo"), help="Where the demo's store, model and predictions go."),
    epochs: int = typer.Option(30, help="At most this many training epochs."),
) -> None:
    """Run the whole job on the bundled demo: ingest, train, classify held-out products with explanations."""
    import pandas as pd

    catalog = folder / "myntra" / "products.csv"
    if not catalog.exists():
        fail(f"no demo sample at {catalog}: run from the repository root or pass --folder")
    store = work / "store"
    console.rule("1. ingest (validate, map to the Google taxonomy, embed, upsert into embedded Qdrant)")
    _run_step(ingest, [catalog], mapping=folder / "mappings" / "myntra_to_gpt.csv", store=store,
              platform=None, taxonomy=GOOGLE_TAXONOMY, preset="minilm", column=[], sep=" > ", rejects=None,
              batch_size=256, qdrant_url=None, collection="products")
    console.rule("2. train the masked hierarchical classifier (the defaults: early fusion of product words, "
                 "description, n-grams, image)")
    _run_step(train, platforms=None, labels="path", epochs=epochs, seed=0, out=None, cascade_stage=False,
              target_escalation=0.2, token_dropout=None, store=store, qdrant_url=None, collection="products")
    console.rule("3. classify held-out products, with kNN explanations from Qdrant")
    from ..store import point_id
    from ..training_split import TrainingSplit

    split = TrainingSplit.load(store / "models" / "classifier")
    held_out = set(split.test if split is not None else [])  # the products the model never saw
    rows = pd.read_csv(catalog, dtype=str, keep_default_na=False)
    new = rows[[point_id(p, i) in held_out for p, i in zip(rows["platform"], rows["product_id"])]].head(200).copy()
    new["image"] = [str((catalog.parent / p).resolve()) for p in new["image"]]
    new_file = work / "new_products.csv"
    new.to_csv(new_file, index=False)
    out = work / "predictions.csv"
    _run_step(classify, new_file, output=out, model=None, cascade=False, threshold=None, explain=True,
              knn_threshold=0.5, k=5, mapping=folder / "mappings" / "myntra_to_gpt.csv", column=[], platform=None,
              store=store, qdrant_url=None, collection="products")
    pred = pd.read_csv(out, dtype=str, keep_default_na=False)
    t = Table(title="a few predictions (first neighbour as explanation)")
    for col in ("title", "predicted", "conf", "nearest stored product"):
        t.add_column(col)
    for _, r in pred[pred["status"] == "ok"].head(8).iterrows():
        t.add_row(r["title"], r["predicted_path"].split(" > ", 1)[-1], f"{float(r['confidence']):.2f}",
                  f"{r.get('neighbour_1_title', '')} [{float(r.get('neighbour_1_score') or 0):.2f}]")
    console.print(t)
    console.print(f"done: store {store}, model {store / 'models' / 'classifier'}, predictions {out}. "
                  f"Next: `hiercat search \"red running shoes\" --store {store}` or "
                  f"`hiercat recluster Shoes --store {store}`.")


def _run_step(command, *args, **kwargs) -> None:
    """Call a command function directly, with its CLI defaults for every option not given (not typer's OptionInfo)."""
    import inspect

    params = list(inspect.signature(command).parameters.values())[len(args):]
    for p in params:
        if p.name not in kwargs and isinstance(p.default, (typer.models.OptionInfo, typer.models.ArgumentInfo)):
            kwargs[p.name] = p.default.default
    try:
        command(*args, **kwargs)
    except typer.Exit as exc:
        if exc.exit_code:
            raise
