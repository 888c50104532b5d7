"""Training the hierarchical classifier: stratified splits, the epoch loop, early stopping with best-weights restore."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..metrics import as_path, hierarchical_prf, level_metrics
from ..seeding import seeded_by
from ..taxonomy import Taxonomy
from .hierarchy import HierarchicalClassifier
from .inputs import ModalityInputs, TensorInputs
from .predict import Predictions, default_device, predict  # noqa: F401  (predict is part of this module's API)

MONITORS = ("loss", "hf1", "macro_f1")


def stratified_split(paths: Sequence[Sequence[str] | str], fractions: Sequence[float] = (0.64, 0.16, 0.20),
                     seed: int = 0) -> tuple[np.ndarray, ...]:
    """Row indices per part, stratified on the whole label path.

    Each class is shuffled and cut by largest-remainder rounding of its size times the
    fractions, ties going to the earlier part: a class of one product goes to the first part
    (training), of two to train and the part with the next largest share, so rare classes never crash.
    """
    fr = np.asarray(fractions, dtype=float)
    if (fr < 0).any() or fr.sum() <= 0:
        raise ValueError(f"fractions must be non-negative with a positive sum, got {tuple(fractions)}")
    fr = fr / fr.sum()
    keys = ["\x1f".join(as_path(p)) for p in paths]
    rng = np.random.default_rng(seed)
    _, inverse = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
    parts: list[list[np.ndarray]] = [[] for _ in fr]
    order = np.argsort(inverse, kind="stable")
    bounds = np.flatnonzero(np.diff(inverse[order])) + 1
    for members in np.split(order, bounds):
        if not len(members):
            continue
        members = rng.permutation(members)
        exact = fr * len(members)
        counts = np.floor(exact).astype(int)
        # Largest remainder first; the stable sort breaks ties toward the earlier (training) part.
        for i in np.argsort(-(exact - counts), kind="stable")[: len(members) - counts.sum()]:
            counts[i] += 1
        for part, chunk in zip(parts, np.split(members, np.cumsum(counts)[:-1])):
            part.append(chunk)
    return tuple(rng.permutation(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)


@dataclass
class TrainHistory:
    """Per-epoch records (train_loss, lr_scale, val_loss, val_hF1, val_macro_f1, seconds), the best epoch, the monitor."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    monitor: str = "loss"
    seconds: float = 0.0
    stopped_early: bool = False

    def lr_scales(self, epochs: int | None = None) -> list[float]:
        """Learning-rate scale of each epoch up to `epochs` (default: the best epoch), to replay in a refit."""
        return [e["lr_scale"] for e in self.epochs[: epochs or self.best_epoch]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for model sidecars)."""
        return {"epochs": self.epochs, "best_epoch": self.best_epoch, "monitor": self.monitor,
                "seconds": self.seconds, "stopped_early": self.stopped_early}


def _targets(taxonomy: Taxonomy, paths: Sequence[tuple[str, ...]]) -> np.ndarray:
    cache: dict[tuple[str, ...], list[int]] = {}
    return np.array([cache.setdefault(p, taxonomy.encode(p)) for p in paths], dtype=np.int64).reshape(
        len(paths), taxonomy.depth)


def _optimizers(model: torch.nn.Module, lr: float, sparse_lr: float | None) -> list[torch.optim.Optimizer]:
    """Adam for dense weights, SparseAdam for hashed-bucket embeddings (whose gradients are sparse)."""
    sparse = [m.weight for m in model.modules() if isinstance(m, torch.nn.EmbeddingBag) and m.sparse]
    ids = {id(p) for p in sparse}
    opts: list[torch.optim.Optimizer] = [torch.optim.Adam([p for p in model.parameters() if id(p) not in ids], lr=lr)]
    if sparse:
        opts.append(torch.optim.SparseAdam(sparse, lr=sparse_lr or lr))
    return opts


def _holdout(inputs: ModalityInputs, paths: list[tuple[str, ...]], val, val_fraction: float, seed: int):
    """(train inputs, train paths, validation inputs or None, validation paths) from the train_classifier arguments."""
    if val is not None:
        val_paths = [as_path(p) for p in val[1]]
        if not val_paths:
            raise ValueError("val has no rows")
        return inputs, paths, val[0].select(inputs.names), val_paths
    if val_fraction > 0:
        tr, va = stratified_split(paths, (1 - val_fraction, val_fraction), seed)
        return inputs.take(tr), [paths[i] for i in tr], inputs.take(va), [paths[i] for i in va]
    return inputs, paths, None, []  # refit on everything for a fixed number of epochs


def _train_epoch(model: HierarchicalClassifier, opts: list[torch.optim.Optimizer], data: TensorInputs,
                 targets: torch.Tensor, perm: torch.Tensor, batch_size: int, label_smoothing: float) -> float:
    """One pass over `perm` in batches; returns the mean training loss."""
    model.train()
    teacher = model.parent_input == "teacher"
    total, seen = 0.0, 0
    for start in range(0, len(perm), batch_size):
        rows = perm[start:start + batch_size]
        if len(rows) < 2:  # BatchNorm cannot normalize a single row
            continue
        y = targets.index_select(0, rows)
        loss = model.loss(model(data.batch(rows), y if teacher else None), y, label_smoothing)
        for o in opts:
            o.zero_grad(set_to_none=True)
        loss.backward()
        for o in opts:
            o.step()
        total += float(loss.detach()) * len(rows)
        seen += len(rows)
    return total / max(seen, 1)


@torch.no_grad()
def _evaluate(model: HierarchicalClassifier, data: TensorInputs, targets: torch.Tensor, true_paths,
              batch_size: int, label_smoothing: float) -> tuple[float, float, float]:
    """Validation loss (the training objective, teacher-forced if the model is), greedy-decoded hF1 and macro-F1.

    The macro-F1 is the mean over levels, so rare classes weigh as much as frequent ones.
    """
    model.eval()
    total, chosen = 0.0, []
    teacher = model.parent_input == "teacher"
    for start in range(0, len(data), batch_size):
        rows = torch.arange(start, min(start + batch_size, len(data)), device=targets.device)
        y = targets.index_select(0, rows)
        logits = model(data.batch(rows), y if teacher else None)
        total += float(model.loss(logits, y, label_smoothing)) * len(rows)
        if teacher:
            logits = model(data.batch(rows))
        chosen.append(model.decode(logits, "greedy").indices.cpu())
    idx = torch.cat(chosen).numpy()
    pred = [model.taxonomy.decode(r.tolist()) for r in idx]
    macro = float(np.mean([level_metrics(true_paths, pred, k)["macro_f1"] for k in range(1, model.levels + 1)]))
    return total / max(len(data), 1), hierarchical_prf(true_paths, pred)["hF1"], macro


@seeded_by("seed")  # the same weights for the same seed, the caller's random state untouched
def train_classifier(
    inputs: ModalityInputs,
    label_paths: Sequence[Sequence[str] | str],
    taxonomy: Taxonomy,
    fusion: str = "late",
    modalities: Sequence[str] | None = None,
    epochs: int = 60,
    batch_size: int = 128,
    lr: float = 1e-3,
    patience: int = 5,
    seed: int = 0,
    val: tuple[ModalityInputs, Sequence[Sequence[str] | str]] | None = None,
    val_fraction: float = 0.2,
    device: str | torch.device | None = None,
    progress: bool = True,
    monitor: str = "hf1",
    label_smoothing: float = 0.0,
    sparse_lr: float | None = 1e-2,
    plateau_factor: float | None = 0.2,
    plateau_patience: int = 1,
    lr_scales: Sequence[float] | None = None,
    restrict_taxonomy: bool = True,
    **model_kwargs: Any,
) -> tuple[HierarchicalClassifier, TrainHistory]:
    """Train with Adam and summed per-level cross-entropy; early-stop on validation hF1, macro-F1 or loss.

    The best epoch's weights are restored. `val` is a held-out (inputs, paths) pair; without it a
    stratified `val_fraction` of the given rows is held out; with neither (val_fraction=0) every row
    trains for exactly `epochs` epochs, the way to refit on train+validation once the epoch count is
    known. The model's classes are the taxonomy restricted to the training and validation label paths
    (`restrict_taxonomy`), so heads only cover categories with examples. `sparse_lr` is SparseAdam's
    rate for hashed-bucket embeddings (None = `lr`). `plateau_factor` multiplies every learning rate
    when the monitored value has not improved for more than `plateau_patience` epochs; each epoch's
    scale of the initial rates is recorded as `lr_scale`, and `lr_scales` replays such a schedule in a
    refit without validation, where no plateau can be detected. `model_kwargs` go to
    HierarchicalClassifier (sparse_dim, dropout, token_dropout, parent_input, fusion_kwargs, ...).
    """
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
    t0 = time.perf_counter()
    dev = default_device(device)
    paths = [as_path(p) for p in label_paths]
    if len(paths) != len(inputs):
        raise ValueError(f"{len(inputs)} input rows but {len(paths)} label paths")
    inputs = inputs.select(modalities)
    inputs, paths, val_inputs, val_paths = _holdout(inputs, paths, val, val_fraction, seed)
    tax = taxonomy.restrict(paths + val_paths) if restrict_taxonomy else taxonomy

    model = HierarchicalClassifier(inputs.specs(), tax, fusion=fusion, **model_kwargs).to(dev)
    opts = _optimizers(model, lr, sparse_lr)
    schedulers = [torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=plateau_factor, patience=plateau_patience,
                                                             threshold=1e-6, threshold_mode="abs")
                  for o in opts] if plateau_factor else []
    train_data = inputs.to_tensors(dev)
    val_data = val_inputs.to_tensors(dev) if val_inputs is not None else None
    y_train = torch.from_numpy(_targets(tax, paths)).to(dev)
    y_val = torch.from_numpy(_targets(tax, val_paths)).to(dev)
    gen = torch.Generator().manual_seed(seed)

    history = TrainHistory(monitor=monitor)
    best_value, best_state, bad = float("inf"), None, 0
    # No ETA: early stopping usually ends long before `epochs`, so a remaining time over all of them misleads.
    desc = f"train (stops after {patience} epochs without gain)" if val_inputs is not None else "train"
    bar = tqdm(range(1, epochs + 1), desc=desc, unit="epoch", disable=not progress, leave=False,
               bar_format="{desc}: epoch {n_fmt} of at most {total_fmt} [{elapsed}, {rate_inv_fmt}{postfix}]")
    base_lrs = [[g["lr"] for g in o.param_groups] for o in opts]
    for epoch in bar:
        te = time.perf_counter()
        if lr_scales is not None:
            scale = lr_scales[min(epoch, len(lr_scales)) - 1]
            for o, lrs in zip(opts, base_lrs):
                for g, base in zip(o.param_groups, lrs):
                    g["lr"] = base * scale
        lr_scale = opts[0].param_groups[0]["lr"] / base_lrs[0][0]
        perm = torch.randperm(len(train_data), generator=gen).to(dev)
        train_loss = _train_epoch(model, opts, train_data, y_train, perm, batch_size, label_smoothing)
        record = {"epoch": epoch, "train_loss": train_loss, "lr_scale": lr_scale}
        if val_data is None:
            record["seconds"] = time.perf_counter() - te
            history.epochs.append(record)
            history.best_epoch = epoch
            bar.set_postfix(loss=f"{record['train_loss']:.3f}")
            continue
        val_loss, val_hf1, val_macro = _evaluate(model, val_data, y_val, val_paths, 1024, label_smoothing)
        record.update(val_loss=val_loss, val_hF1=val_hf1, val_macro_f1=val_macro, seconds=time.perf_counter() - te)
        history.epochs.append(record)
        bar.set_postfix(loss=f"{record['train_loss']:.3f}", val_loss=f"{val_loss:.3f}", val_hF1=f"{val_hf1:.4f}")
        value = {"loss": val_loss, "hf1": -val_hf1, "macro_f1": -val_macro}[monitor]
        for sched in schedulers:
            sched.step(value)
        if value < best_value - 1e-6:
            best_value, best_state, bad, history.best_epoch = value, copy.deepcopy(model.state_dict()), 0, epoch
        else:
            bad += 1
            if bad >= patience:
                history.stopped_early = True
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - t0
    return model, history
