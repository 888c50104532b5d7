"""Self-supervised image encoder: ResNet-18 trained with SimCLR on the shops' own product images.

The shipped weights (`hiercat/assets/simclr_resnet18.safetensors`, fp16) were trained on the Myntra
and H&M images only, so the image modality works offline without any pretrained download.
Embeddings are the 512-d backbone features by default (what the SimCLR paper evaluates: the
projection head discards information the contrastive loss does not need); the 128-d projection is
available with `output="projection"`. The safetensors metadata records the input size, resize rule,
normalization and default output, so the encoder always preprocesses exactly as in training.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import torch
import torchvision
from PIL import Image, ImageOps
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from ..files import user_mode
from ..seeding import seeded_by
from .base import ModelLoadError, l2_normalize
from .device import autocast, batched, default_batch_size, pick_device, to_device

ENV_WEIGHTS = "HIERCAT_SIMCLR_WEIGHTS"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
BACKBONE_DIM = 512
PROJECTION_DIM = 128

# Augmentation strengths for the lightly SimCLR transform. Product photos are small, centred
# objects on white: "high" is the SimCLR ImageNet recipe, which on 64 px crops often cuts the
# object away; "middle" keeps larger crops and halves colour jitter (lightly's advice for small images).
class Strength(TypedDict):
    """The SimCLRTransform options one strength sets."""

    min_scale: float
    cj_strength: float
    gaussian_blur: float
    random_gray_scale: float


STRENGTHS: dict[str, Strength] = {
    "low": {"min_scale": 0.5, "cj_strength": 0.25, "gaussian_blur": 0.0, "random_gray_scale": 0.1},
    "middle": {"min_scale": 0.2, "cj_strength": 0.5, "gaussian_blur": 0.2, "random_gray_scale": 0.2},
    "high": {"min_scale": 0.08, "cj_strength": 1.0, "gaussian_blur": 0.5, "random_gray_scale": 0.2},
}


def default_weights_path() -> Path:
    """The shipped SimCLR weights inside the package (overridable with HIERCAT_SIMCLR_WEIGHTS)."""
    if os.environ.get(ENV_WEIGHTS):
        return Path(os.environ[ENV_WEIGHTS])
    return Path(str(resources.files("hiercat") / "assets" / "simclr_resnet18.safetensors"))


def square_image(image: Image.Image, size: int) -> Image.Image:
    """Pad to a white square, then resize, so portrait photos of any shop keep their shape."""
    # Squashing instead would distort Myntra (3:4) and H&M (2:3) photos differently.
    return ImageOps.pad(image.convert("RGB"), (size, size), method=Image.Resampling.BILINEAR,
                        color=(255, 255, 255))


class SimCLRNet(nn.Module):
    """ResNet-18 backbone (512-d, no pretrained weights) plus lightly's SimCLR projection head (128-d)."""

    def __init__(self) -> None:
        super().__init__()
        from lightly.models.modules import SimCLRProjectionHead

        self.backbone = torchvision.models.resnet18(weights=None)
        self.backbone.fc = nn.Identity()
        self.head = SimCLRProjectionHead(BACKBONE_DIM, BACKBONE_DIM, PROJECTION_DIM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Projection of a batch of normalized images (what the contrastive loss sees)."""
        return self.head(self.backbone(x))


def save_weights(net: SimCLRNet, path: str | Path, meta: dict[str, Any], dtype: torch.dtype = torch.float16) -> None:
    """Write the network as safetensors (floats cast to `dtype`) with its config as metadata, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().cpu()).contiguous()
               for k, v in net.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata={k: v if isinstance(v, str) else json.dumps(v) for k, v in meta.items()})
    # A kill mid-write must leave the previous checkpoint intact.
    os.replace(tmp, path)
    user_mode(path)


def load_weights(path: str | Path) -> tuple[SimCLRNet, dict[str, Any]]:
    """The network (fp32) and its metadata from a safetensors file written by `save_weights`."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(
            f"SimCLR image encoder: weights file {path} not found; train one with "
            f"`hiercat train-image-encoder IMAGES_DIR --out FILE` and pass it as weights= "
            f"or set {ENV_WEIGHTS}=FILE"
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
        net = SimCLRNet()
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    # SafetensorError (a damaged or truncated file) derives from none of the others.
    except (OSError, RuntimeError, ValueError, SafetensorError) as exc:
        raise ModelLoadError(f"SimCLR image encoder: cannot read weights {path} ({exc}); "
                             f"point {ENV_WEIGHTS} at a file written by `hiercat train-image-encoder`") from exc
    meta: dict[str, Any] = {}
    for k, v in raw.items():
        try:
            meta[k] = json.loads(v)
        except json.JSONDecodeError:
            meta[k] = v
    return net, meta


class SimCLRImageEncoder:
    """Image encoder "simclr": frozen SimCLR ResNet-18, 512-d backbone features (or 128-d projection)."""

    name = "simclr"

    def __init__(self, weights: str | Path | None = None, device: str | torch.device | None = None,
                 output: str | None = None, batch_size: int | None = None) -> None:
        self.weights = Path(weights) if weights is not None else default_weights_path()
        net, self.meta = load_weights(self.weights)
        self.output = output or str(self.meta.get("output", "backbone"))
        if self.output not in ("backbone", "projection"):
            raise ValueError(f"output must be 'backbone' or 'projection', got {self.output!r}")
        self.dim = BACKBONE_DIM if self.output == "backbone" else PROJECTION_DIM
        self.input_size = int(self.meta.get("input_size", 64))
        self.device = pick_device(device)
        self.batch_size = batch_size or default_batch_size(self.device)
        self.net = net.to(self.device).eval()
        self._mean = torch.tensor(self.meta.get("mean", IMAGENET_MEAN)).view(1, 3, 1, 1)
        self._std = torch.tensor(self.meta.get("std", IMAGENET_STD)).view(1, 3, 1, 1)

    def preprocess(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Normalized [n, 3, S, S] float tensor, exactly as the network saw images in training."""
        arr = np.stack([np.asarray(square_image(im, self.input_size), dtype=np.uint8) for im in images])
        x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)
        return (x - self._mean) / self._std

    @torch.inference_mode()
    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        """[len(images), dim] float32, rows L2-normalized."""
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        for lo, chunk in zip(range(0, len(images), self.batch_size), batched(list(images), self.batch_size)):
            x = to_device(self.preprocess(chunk), self.device)
            with autocast(self.device):
                h = self.net.backbone(x)
                if self.output == "projection":
                    h = self.net.head(h)
            out[lo: lo + len(chunk)] = h.float().cpu().numpy()
        return l2_normalize(out)


# ---------------------------------------------------------------------------------------------
# training


class _TwoViews(torch.utils.data.Dataset):
    """Pre-decoded square images (uint8) and the SimCLR two-view transform."""

    def __init__(self, pixels: np.ndarray, transform: Callable[[Image.Image], list[torch.Tensor]]) -> None:
        self.pixels = pixels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        v0, v1 = self.transform(Image.fromarray(self.pixels[i]))
        return v0, v1


def find_images(roots: Sequence[str | Path]) -> list[Path]:
    """Image files under the given folders (recursively) or given directly, sorted for reproducibility."""
    found: list[Path] = []
    for root in map(Path, roots):
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            raise FileNotFoundError(f"no such image file or folder: {root}")
    return sorted(set(found))


def load_pixels(paths: Sequence[str | Path], size: int, progress: bool = True) -> tuple[np.ndarray, list[str]]:
    """[n, size, size, 3] uint8 squares of the readable images, and the paths that could not be read."""
    from tqdm import tqdm

    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    keep, bad = 0, []
    for p in tqdm(paths, desc="decode images", unit="img", disable=not progress, mininterval=2.0):
        try:
            with Image.open(p) as im:
                out[keep] = np.asarray(square_image(im, size))
            keep += 1
        except (OSError, ValueError, SyntaxError):
            bad.append(str(p))
    return out[:keep], bad


def simclr_transform(strength: str, input_size: int) -> Callable[[Image.Image], list[torch.Tensor]]:
    """lightly's SimCLR two-view transform at one of the strengths low / middle / high."""
    from lightly.transforms import SimCLRTransform

    if strength not in STRENGTHS:
        raise ValueError(f"strength must be one of {', '.join(STRENGTHS)}, got {strength!r}")
    # lightly types __call__ as returning tensors or PIL images whatever the input; with `normalize` its
    # pipeline ends in ToTensor + Normalize, so a PIL image gives a list of tensors.
    return SimCLRTransform(  # type: ignore[return-value]
        input_size=input_size, normalize={"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)},
        **STRENGTHS[strength])


def _lr_at(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up then cosine decay to zero."""
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


@seeded_by("seed")  # reproducible augmentations and weights, the caller's random state untouched
def train_simclr(
    image_paths: Sequence[str | Path],
    out_path: str | Path,
    epochs: int = 10,
    batch_size: int = 256,
    strength: str = "middle",
    input_size: int = 64,
    seed: int = 0,
    lr: float = 1e-3,
    temperature: float = 0.5,
    device: str | torch.device | None = None,
    num_threads: int | None = None,
    save_dtype: torch.dtype = torch.float16,
    checkpoint_steps: int = 50,
    resume: bool = False,
    progress: bool = True,
    log_path: str | Path | None = None,
    num_workers: int = 0,
    init_weights: str | Path | None = None,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Train SimCLR (NT-Xent, Adam, warm-up + cosine) and save safetensors weights; returns the metadata.

    Weights are written to `out_path` after every epoch and every `checkpoint_steps` steps, so a stop
    keeps a usable model; `resume=True` continues from the step recorded in an existing `out_path`.
    `init_weights` starts from another encoder's weights (fine-tuning, e.g. the shipped encoder on
    one category's images) with a fresh schedule. `max_seconds` stops after that much training time
    and saves. `num_workers` DataLoader processes run the augmentations (a GPU outruns one process).
    Per-step losses go to `log_path` (JSON lines) when given.
    """
    from lightly.loss import NTXentLoss
    from tqdm import tqdm

    if num_threads:
        torch.set_num_threads(num_threads)
    dev = pick_device(device)
    gen = torch.Generator().manual_seed(seed)
    out_path = Path(out_path)
    pixels, bad = load_pixels(list(image_paths), input_size, progress)
    if len(pixels) < 2:
        raise ValueError(f"need at least 2 readable images to train, got {len(pixels)}")
    batch_size = min(batch_size, len(pixels))
    data = _TwoViews(pixels, simclr_transform(strength, input_size))
    # drop_last: a tiny final batch gives NT-Xent almost no negatives and a noisy step.
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True, drop_last=True, generator=gen,
                                         num_workers=num_workers, persistent_workers=num_workers > 0,
                                         pin_memory=dev.type == "cuda")
    steps_per_epoch = len(loader)
    total = steps_per_epoch * epochs
    net = SimCLRNet()
    meta: dict[str, Any] = {
        "format": "hiercat-simclr/1", "arch": "resnet18", "projection_dim": PROJECTION_DIM,
        "input_size": input_size, "resize": "pad-to-white-square, bilinear",
        "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD), "output": "backbone",
        "strength": strength, "augment": STRENGTHS[strength], "batch_size": batch_size, "lr": lr,
        "temperature": temperature, "optimizer": "Adam", "seed": seed, "images": len(pixels),
        "epochs": epochs, "steps_per_epoch": steps_per_epoch, "step": 0, "epoch_loss": [],
        "train_seconds": 0.0, "dtype": str(save_dtype).replace("torch.", ""),
    }
    if resume and out_path.exists():
        net, old = load_weights(out_path)
        meta.update({k: old[k] for k in ("step", "epoch_loss", "train_seconds") if k in old})
    elif init_weights is not None:
        net, _ = load_weights(init_weights)
        meta["init_weights"] = Path(init_weights).name
    net = net.to(dev).train()
    criterion = NTXentLoss(temperature=temperature)
    base_lr = lr * batch_size / 256
    opt = torch.optim.Adam(net.parameters(), lr=base_lr, weight_decay=1e-6)
    scaler = torch.amp.GradScaler("cuda", enabled=dev.type == "cuda")
    warmup = min(max(1, total // 20), 500)
    log = open(log_path, "a", encoding="utf-8") if log_path else None
    step = int(meta["step"])
    start = time.perf_counter() - float(meta["train_seconds"])
    out_of_time = False
    try:
        for epoch in range(step // steps_per_epoch, epochs):
            if out_of_time:
                break
            losses: list[float] = []
            # After a resume, skip the batches of this epoch already trained on (the first epoch replays
            # the same seeded shuffle, so exactly those images; later epochs an equally random subset).
            skip = step - epoch * steps_per_epoch
            bar = tqdm(total=steps_per_epoch, initial=skip, desc=f"simclr epoch {epoch + 1}/{epochs}",
                       unit="step", disable=not progress, mininterval=5.0)
            for i, (v0, v1) in enumerate(loader):
                if i < skip:
                    continue
                for group in opt.param_groups:
                    group["lr"] = _lr_at(step, total, base_lr, warmup)
                x = torch.cat([v0, v1]).to(dev, non_blocking=True)
                with autocast(dev):
                    z = net(x)
                    loss = criterion(*z.float().chunk(2))
                opt.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                step += 1
                losses.append(loss.item())
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
                if log:
                    log.write(json.dumps({"step": step, "epoch": epoch + 1, "loss": losses[-1],
                                          "lr": opt.param_groups[0]["lr"],
                                          "seconds": round(time.perf_counter() - start, 1)}) + "\n")
                    log.flush()
                meta.update(step=step, train_seconds=round(time.perf_counter() - start, 1))
                if checkpoint_steps and step % checkpoint_steps == 0:
                    save_weights(net, out_path, meta, save_dtype)
                if max_seconds is not None and time.perf_counter() - start >= max_seconds:
                    out_of_time = True
                    meta["stopped"] = f"time budget of {max_seconds:.0f} s"
                    break
            bar.close()
            if losses:
                meta["epoch_loss"] = [*meta["epoch_loss"], round(float(np.mean(losses)), 4)]
            meta.update(step=step, train_seconds=round(time.perf_counter() - start, 1))
            save_weights(net, out_path, meta, save_dtype)
    finally:
        if log:
            log.close()
    if bad:
        meta["unreadable_images"] = len(bad)
    save_weights(net, out_path, meta, save_dtype)
    return meta


def train_image_encoder_cli(
    images: Sequence[str | Path],
    out: str | Path,
    epochs: int = 10,
    strength: str = "middle",
    batch_size: int = 256,
    input_size: int = 64,
    seed: int = 0,
    threads: int | None = None,
    resume: bool = False,
    init_weights: str | Path | None = None,
    num_workers: int = 0,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Body of `hiercat train-image-encoder IMAGES_DIR... --out --epochs --strength`: find images, train, save."""
    paths = find_images(images)
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {', '.join(map(str, images))}")
    log = Path(out).with_suffix(".log.jsonl")
    return train_simclr(paths, out, epochs=epochs, batch_size=batch_size, strength=strength,
                        input_size=input_size, seed=seed, num_threads=threads, resume=resume, log_path=log,
                        init_weights=init_weights, num_workers=num_workers, max_seconds=max_seconds)
