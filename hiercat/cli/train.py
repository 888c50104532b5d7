"""`hiercat train` and `train-image-encoder`."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import (
    CollectionOpt,
    StoreOpt,
    UrlOpt,
    app,
    console,
    default,
    default_model_dir,
    existing_file_note,
    fail,
    open_store_from_cli,
    print_metrics,
)


@app.command()
def train(
    fusion: str = typer.Option("early", help="Fusion of the modalities: early, late, attention."),
    modalities: str = typer.Option("shops", help="Modalities: shops (product words + description pooled, title n-grams, image: the default for new shops), all, text, lexical, image, text+lexical, or vector names joined by commas."),
    platforms: str | None = typer.Option(None, help="Train on these platforms only (comma-separated)."),
    labels: str = typer.Option("path", help="Label field: path (target taxonomy) or native_category (the shop's own tree)."),
    epochs: int = typer.Option(60, help="At most this many epochs (early stopping, patience 5)."),
    seed: int = typer.Option(0, help="Seed of the 64/16/20 split and of training."),
    out: Path | None = typer.Option(None, help=f"Model folder {default('STORE/models/classifier')}."),
    cascade_stage: bool = typer.Option(False, "--text-stage", help="Also train the cheap text-only first stage of the cascade (STORE/models/text)."),
    target_escalation: float = typer.Option(0.2, help="With --text-stage: share of items the text stage escalates (threshold chosen on validation data)."),
    token_dropout: str | None = typer.Option(
        None, help="Share of a title's lexical n-grams dropped while training (0.4 when not given; 0.1 favours "
                   "rare classes). Several, comma-separated (e.g. 0.1,0.4), train one model each and average them."),
    refit: bool = typer.Option(False, help="After early stopping, retrain on train + validation for the epochs found "
                                           "(the test split stays unseen)."),
    decode: str = typer.Option("path", help="Decoding for the test metrics and, by default, for classify: path "
                                            "(best whole valid path) or greedy (level by level)."),
    reviewed_in_test: bool = typer.Option(False, "--reviewed-in-test", help="Let reviewed products (`hiercat feedback`) land in the test split too; by default they always train."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Train the masked hierarchical classifier on the stored vectors and save it (safetensors + JSON sidecar)."""
    from ..categorizer import Categorizer, fit_text_stage
    from ..config import TrainConfig, parse_token_dropout

    try:
        config = TrainConfig(fusion=fusion, modalities=modalities, labels=labels, epochs=epochs, seed=seed,
                             decode=decode, token_dropout=parse_token_dropout(token_dropout), refit=refit,
                             reviewed_in_test=reviewed_in_test)
    except ValueError as exc:  # name the option as it was typed: "--decode must be one of ..."
        fail(str(exc) if str(exc).startswith("--") else f"--{str(exc).replace('_', '-', 1)}")
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        plats = [p.strip() for p in platforms.split(",")] if platforms else None
        target = out or default_model_dir(store, qdrant_url)
        replaces = existing_file_note(target / "model.safetensors", "a model")
        if replaces:
            console.print(f"[yellow]note:[/] {replaces}; it is replaced when this one is saved "
                          "(--out DIR keeps it)")
        try:
            est = Categorizer(progress=True).fit(vs, platforms=plats, config=config)
        except (KeyError, ValueError) as exc:
            fail(str(exc).strip("'\""))
        est.save(target)
        result = est.result_
        n = len(config.token_dropout)
        what = f"{n}-model ensemble, " if n > 1 else ""
        console.print(f"saved [bold]{target}[/]{' (replaced the previous model)' if replaces else ''} "
                      f"({what}{fusion} fusion, best epoch "
                      f"{', '.join(map(str, result.best_epochs))}{', refit on train + validation' if refit else ''}, "
                      f"{result.fit_seconds:.0f} s)")
        print_metrics(result.metrics, "held-out test split (20 %)")
        if cascade_stage:
            text_dir = target.parent / "text"
            thr = fit_text_stage(vs, text_dir, config, target_escalation, plats, progress=True)
            console.print(f"text stage saved to [bold]{text_dir}[/]; cascade threshold {thr:.3f} escalates "
                          f"~{target_escalation:.0%}")
    finally:
        vs.close()


@app.command("train-image-encoder")
def train_image_encoder(
    images: list[Path] = typer.Argument(None, help="Image files or folders of images (or use --category)."),
    out: Path = typer.Option(Path("simclr_resnet18.safetensors"), help="Weights file (safetensors)."),
    epochs: int = typer.Option(10, help="Epochs over the images."),
    strength: str = typer.Option("middle", help="Augmentation strength: low, middle, high."),
    batch_size: int = typer.Option(256, help="Batch size (NT-Xent uses the batch as negatives)."),
    input_size: int = typer.Option(64, help="Square input size in pixels."),
    seed: int = typer.Option(0, help="Random seed."),
    category: str | None = typer.Option(None, help="Train on the images of the stored products under this category."),
    platform: str | None = typer.Option(None, help="With --category: only this platform's products."),
    init: Path | None = typer.Option(None, help="Start from these weights (fine-tune), e.g. the shipped encoder."),
    workers: int = typer.Option(0, help="DataLoader processes for the augmentations (use several on a GPU)."),
    max_minutes: float | None = typer.Option(
        None, help="Stop after this much training time and save (a safety stop: the LR schedule follows --epochs)."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Train the self-supervised SimCLR image encoder (ResNet-18, NT-Xent) on a catalog's own images."""
    from ..encoders.simclr import default_weights_path, train_image_encoder_cli

    if category:
        from ..recluster.select import select_category

        vs = open_store_from_cli(store, qdrant_url, collection)
        try:
            sel = select_category(vs, category, vectors=[], platform=platform)
        except ValueError as exc:
            fail(str(exc))
        finally:
            vs.close()
        images = [Path(p) for p in sel.column("image") if p]
        if not images:
            fail(f"no stored product under {category!r} has an image path")
        console.print(f"{len(images)} images of {len(sel)} products under {' > '.join(sel.category)}")
        if init is None:
            init = default_weights_path()  # a category's few thousand images refine the catalog encoder
    if not images:
        fail("give image files or folders, or --category with a store")
    replaces = existing_file_note(out, "image encoder weights")
    if replaces:
        console.print(f"[yellow]note:[/] {replaces}; it is replaced (--out FILE keeps it)")
    train_image_encoder_cli(images, out=out, epochs=epochs, strength=strength, batch_size=batch_size,
                            input_size=input_size, seed=seed, init_weights=init, num_workers=workers,
                            max_seconds=60 * max_minutes if max_minutes else None)
    console.print(f"saved the image encoder to [bold]{out}[/] (training log {Path(out).with_suffix('.log.jsonl')}); "
                  f"use it with `hiercat recluster CATEGORY --image-weights {out}`")
