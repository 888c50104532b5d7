"""`hiercat evaluate`: the within-shop grid, the cascade, cross-shop and leave-one-shop-out reports."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import typer

from ..store.schema import read_schema
from .app import (
    DEFAULT_STORE,
    CollectionOpt,
    StoreOpt,
    UrlOpt,
    app,
    console,
    fail,
    members,
    open_store_from_cli,
)


@app.command()
def evaluate(
    out: Path = typer.Option(Path("hiercat-report"), help="Report folder (report.md, report.html, plots)."),
    labels: str = typer.Option("path", help="Label field: path (target taxonomy) or native_category."),
    platforms: str | None = typer.Option(None, help="Within-shop grid on these platforms only (comma-separated)."),
    cross: str | None = typer.Option(None, help="Cross-platform pairs TRAIN:TEST, comma-separated, e.g. myntra:hm."),
    epochs: int = typer.Option(60, help="At most this many epochs per configuration."),
    seed: int = typer.Option(0, help="Seed of the split and of training."),
    cascade_targets: str = typer.Option("0.1,0.3", help="Escalation shares to report for the cascade."),
    token_dropout: str | None = typer.Option(None, help="As in `hiercat train`: one value, or several to average one model each, in every configuration."),
    refit: bool = typer.Option(False, help="As in `hiercat train`: refit every configuration on train + validation."),
    leave_one_shop_out: bool = typer.Option(False, "--leave-one-shop-out", help="Instead of the grid: for every platform (or those of --platforms), train `hiercat train`'s default model on the others and score it as a new shop: per product, with breadcrumb pooling, and the proposed mapping of its categories."),
    model: Path | None = typer.Option(None, "--model", help="Instead of the grid: score this saved model on the split `hiercat train` recorded, with the confidence back-off's coverage / precision curve and the thresholds chosen on validation for --target-precision."),
    target_precision: str = typer.Option("0.995,0.999", help="With --model: target hP values (comma-separated) to choose a back-off threshold for on the validation split."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Train a grid of models (one per configuration) and write a report: Table-II grid, kNN, cascade, cross-shop, plots.

    The grid trains 7 models from scratch (text, lexical, image only; text + lexical late; all
    modalities with early, late and attention fusion), plus 3 per --cross pair, each with early
    stopping: on a CPU, minutes per model (about 5 on 2,000 products). A counter says which model of
    how many is training and an estimate of the time left. To score one trained model instead, use
    --model; for shops never seen, --leave-one-shop-out.
    """
    from ..evaluate import Row, cascade_rows, cross_platform, grid_rows, knn_row, run_grid
    from ..experiment import label_paths, load_training_data
    from ..model import predict
    from ..model.inputs import inputs_from_stored
    from ..report import classes_note, plot_confusion, plot_level_f1, worst_level, write_report

    # sklearn warns about classes absent from a split; the report says how classes are averaged instead
    warnings.filterwarnings("ignore", module="sklearn")

    training: dict[str, Any] = {"members": members(token_dropout), "refit": refit}
    vs = open_store_from_cli(store, qdrant_url, collection)
    if model is not None:
        try:
            _backoff_report(vs, model, out, target_precision)
        finally:
            vs.close()
        return
    if leave_one_shop_out:
        try:
            _leave_one_shop_out(vs, out, platforms, epochs, seed, training)
        finally:
            vs.close()
        return
    try:
        plats = [p.strip() for p in platforms.split(",")] if platforms else None
        products = load_training_data(vs, plats)
        paths = label_paths(products, labels)
        levels = max(len(p) for p in paths)
        console.print(f"{len(products)} products, {levels} levels, labels from `{labels}`")

        n_models = len(grid_rows(inputs_from_stored(products))) + 3 * len([c for c in (cross or "").split(",") if c])
        counter = ModelCounter(n_models)

        def show(row: Row) -> None:
            valid = row.metrics.get("validity")
            console.print(f"  {row.name:32s} hF1 {100 * row.metrics['hF1']:.2f}  "
                          f"L{levels} macro-F1 {100 * row.metrics.get(f'l{levels}_macro_f1', float('nan')):.2f}"
                          + (f"  valid {100 * valid:.1f} %" if valid is not None else "")
                          + (f"  ({row.fit_seconds:.0f} s)" if row.fit_seconds else ""))

        def finished(row: Row) -> None:
            counter.finished()
            show(row)

        console.print(f"training {n_models} models, one per configuration (each stops early); a CPU takes minutes "
                      "per model")
        rows, split = run_grid(products, labels, seed, epochs, on_row=finished,
                               on_start=lambda i, n, name: counter.start(name), **training)
        record = read_schema(vs).preset
        titles = record.names(field="title", role="text") if record else []
        title_vec = titles[0] if titles else None
        if title_vec:
            rows.append(knn_row(vs, products, split, labels, title_vec))
            show(rows[-1])
        sections = [("Within-shop results (Table II shape)",
                     f"Seeded stratified 64/16/20 split (seed {seed}) of {len(products)} products; test = {len(split.test)}. "
                     "Percentages; hP/hR/hF1 over ancestor sets, per-level macro and weighted F1, valid paths under masking. "
                     + classes_note(rows[0].metrics, levels),
                     rows, levels)]
        trained = [r for r in rows if "model" in r.extra]
        best = max(trained, key=lambda r: r.metrics["hF1"])
        text_row = next((r for r in trained if r.name.startswith("text + lexical")), None)
        if text_row is not None and best is not text_row:
            targets = [float(x) for x in cascade_targets.split(",") if x.strip()]
            casc = cascade_rows(text_row.extra["model"], best.extra["model"], products, split, labels, targets)
            sections.append(("Two-stage cascade", f"Stage 1 = {text_row.name}; stage 2 = {best.name}. Thresholds chosen "
                             "on the validation split for a target escalation share; times per 1,000 products. The per-level "
                             "F1 of both stages is in the grid above.", casc, 0))
        if cross:
            xrows = []
            for pair in cross.split(","):
                a, b = pair.split(":")
                counter.start(f"{a.strip()} → {b.strip()}, one model per fusion", models=3)
                xrows += cross_platform(products, a.strip(), b.strip(), labels, seed, epochs=epochs, **training)
                counter.finished(3)
                for r in xrows[-3:]:
                    show(r)
            sections.append(("Cross-platform results (Table III shape)",
                             "Trained on every product of one platform (its own validation split for early stopping), "
                             "tested on every product of the other. label_coverage = share of test products whose "
                             "category the training platform has at all.", xrows, levels))
        out.mkdir(parents=True, exist_ok=True)
        figs = [("Per-level macro-F1 per configuration", plot_level_f1(trained, levels, out / "level_f1.png"))]
        worst = worst_level(best.metrics, levels)
        test_paths = [paths[i] for i in split.test]
        pred = predict(best.extra["model"], inputs_from_stored(products).take(split.test))
        if worst is not None:
            figs.append((f"Confusion matrix at level {worst}, the least accurate level with 2 classes or more "
                         f"({best.name}, {100 * best.metrics[f'l{worst}_accuracy']:.2f} % right there)",
                         plot_confusion(test_paths, pred.paths, worst, out / "confusion.png")))
        from ..backoff import coverage_curve, plot_curve  # classify --min-confidence C, for the best configuration

        figs.append((f"Confidence back-off ({best.name}): hP and hR against the share of products given their whole "
                     "path, one point per threshold C", plot_curve(coverage_curve(test_paths, pred.paths,
                                                                                  pred.level_conf),
                                                                   out / "backoff_curve.png")))
        md, page = write_report(out, "hiercat evaluation", sections, figs,
                                notes=[f"Store: {store_label(store, qdrant_url, collection)}, {len(products)} products"
                                       f"{' of ' + ', '.join(plats) if plats else ''}; preset "
                                       f"{record.name if record else '-'}; vectors: "
                                       f"{', '.join(record.names() if record else [])}.",
                                       f"Command: hiercat evaluate --epochs {epochs} --seed {seed}"
                                       + (f" --cross {cross}" if cross else "") + "."])
        console.print(f"report: [bold]{md}[/] and {page}")
    finally:
        vs.close()


def _backoff_report(vs, model: Path, out: Path, targets: str) -> None:
    """`hiercat evaluate --model`: the saved model's back-off curve on its recorded split, and the report."""
    from ..backoff_report import evaluate_saved_model, write_backoff_report

    try:
        wanted = [float(t) for t in targets.split(",") if t.strip()]
        with console.status(f"scoring {model} on its recorded validation and test split"):
            ev = evaluate_saved_model(vs, model, wanted)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    md, page = write_backoff_report(ev, out)
    for t, c in ev.chosen.items():
        p = ev.at_chosen.get(t)
        console.print(f"target hP {100 * t:g} %: " + ("unreachable on validation" if p is None else
                      f"C = {c:.4f} -> test coverage {100 * p.coverage:.2f} %, hP {100 * p.hP:.2f} %, "
                      f"hR {100 * p.hR:.2f} %"))
    console.print(f"report: [bold]{md}[/] and {page}")


class ModelCounter:
    """'[3/7] training <name> (12 min so far, ~16 min left)': the overall counter of `hiercat evaluate`."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.perf_counter()

    def start(self, name: str, models: int = 1) -> None:
        """Say that the next `models` models (one configuration) start training."""
        spent = time.perf_counter() - self.t0
        left = f", ~{_minutes(spent / self.done * (self.total - self.done))} left" if self.done else ""
        which = f"{self.done + 1}" if models == 1 else f"{self.done + 1}-{self.done + models}"
        console.print(f"[bold]\\[{which}/{self.total}][/] training {name} ({_minutes(spent)} so far{left})")

    def finished(self, models: int = 1) -> None:
        self.done += models


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def store_label(store: Path | None, url: str | None, collection: str) -> str:
    """The store a report was made from: the embedded store's folder, or the server URL and collection."""
    url = url or os.environ.get("QDRANT_URL")
    return f"{url} collection {collection}" if url else str(Path(store or DEFAULT_STORE).resolve())


def _leave_one_shop_out(vs, out: Path, platforms: str | None, epochs: int, seed: int, training: dict) -> None:
    """`hiercat evaluate --leave-one-shop-out`: the table per left-out shop, its mapping proposal, the report."""
    from ..evaluate import Row, leave_one_shop_out
    from ..experiment import load_training_data
    from ..report import write_report

    products = load_training_data(vs)
    plats = [p.strip() for p in platforms.split(",")] if platforms else None
    levels = max(int(d) for d in products.payload["depth"])
    console.print(f"{len(products)} products of {products.payload['platform'].nunique()} platforms, {levels} levels")

    def show(row: Row) -> None:
        console.print(f"  {row.name:48s} hF1 {100 * row.metrics['hF1']:.2f}  exact {100 * row.metrics['exact']:.2f}"
                      + (f"  mapping right for {100 * row.extra['mapping_item_accuracy']:.1f} % of items"
                         if "mapping_item_accuracy" in row.extra else "") + f"  ({row.fit_seconds:.0f} s)")

    from ..experiment import category_names

    try:
        names = category_names(vs.get_meta())
        shops = leave_one_shop_out(products, seed=seed, platforms=plats, epochs=epochs, on_row=show,
                                   category_names=names, **training)
    except ValueError as exc:
        fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    for shop in shops:
        shop.proposal.to_csv(out / f"proposed-mapping-{shop.platform}.csv", index=False)
    rows = [r for shop in shops for r in shop.rows]
    md, page = write_report(out, "hiercat: leave one shop out", [(
        "Leave one shop out", "Each shop scored by a model trained on every other shop (hiercat train's defaults), "
        "labels from the target taxonomy. 'per product': each product alone; 'breadcrumb pooling': with the shop's "
        "own categories as evidence (classify --native-category); '+ zero-shot': with the taxonomy's category names "
        "for unsure products (as classify runs). Percentages; the extra columns are fractions: mapping_item_accuracy, "
        "the share of the shop's products whose native category got its true target from propose-mapping; "
        "mapping_auto_precision, the share of the categories marked auto that are right; mapping_auto_share, the "
        "share of categories marked auto; label_coverage, the share of the shop's products whose category the "
        "training shops have at all; zero_shot_share, the share placed by a category name.", rows, levels)],
        notes=[f"Store: {len(products)} products; proposed mappings: proposed-mapping-<platform>.csv."])
    console.print(f"report: [bold]{md}[/] and {page}")
