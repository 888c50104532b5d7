"""Does an image encoder know product categories? Linear-probe and kNN accuracy on frozen features.

    python bench/bench_probe.py [--weights FILE] [--n 3000] [--level 2] [--splits 5]

compares the SimCLR weights (backbone and projection outputs) with a random-init ResNet-18 on
Myntra's native categories cut at `level` (" > " separated).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hiercat.encoders.base import ImageEncoder  # noqa: E402


def linear_probe_accuracy(x: np.ndarray, y: Sequence[str], seed: int = 0, test_size: float = 0.3) -> float:
    """Held-out accuracy of a logistic regression on standardized frozen features (stratified split)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    xtr, xte, ytr, yte = train_test_split(x, np.asarray(y), test_size=test_size, random_state=seed, stratify=y)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))
    clf.fit(xtr, ytr)
    return float(clf.score(xte, yte))


def knn_accuracy(x: np.ndarray, y: Sequence[str], k: int = 10, seed: int = 0, test_size: float = 0.3) -> float:
    """Held-out accuracy of a cosine k-nearest-neighbour vote (how Qdrant neighbours would classify)."""
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    xtr, xte, ytr, yte = train_test_split(x, np.asarray(y), test_size=test_size, random_state=seed, stratify=y)
    return float(KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(xtr, ytr).score(xte, yte))


def myntra_sample(data_dir: str | Path, n: int = 3000, level: int = 2, seed: int = 0,
                  min_per_class: int = 10) -> tuple[list[Path], list[str]]:
    """n random Myntra images with their native category cut at `level`, dropping rare classes."""
    data_dir = Path(data_dir)
    df = pd.read_csv(data_dir / "products.csv", dtype=str, keep_default_na=False)
    df = df[df["image"].ne("") & df["category"].ne("")]
    df = df[[(data_dir / p).is_file() for p in df["image"]]]
    df = df.sample(n=min(n, len(df)), random_state=seed)
    df["label"] = [" > ".join(c.split(" > ")[:level]) for c in df["category"]]
    counts = df["label"].value_counts()
    df = df[df["label"].isin(counts[counts >= min_per_class].index)]
    return [data_dir / p for p in df["image"]], df["label"].tolist()


def embed_paths(encoder: ImageEncoder, paths: Sequence[Path]) -> np.ndarray:
    """Encoder rows of the images at these paths."""
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append(im.convert("RGB"))
    return encoder.encode(images)


def main() -> None:
    """Print linear-probe and kNN accuracy for trained vs random-init SimCLR ResNet-18 features."""
    import torch

    from hiercat.encoders.simclr import SimCLRImageEncoder, SimCLRNet, default_weights_path, load_weights, save_weights

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=str(default_weights_path()))
    ap.add_argument("--data", default=os.environ.get("HIERCAT_SHARED_DATA", "../shared/data") + "/myntra")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--level", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--splits", type=int, default=5, help="train/test splits averaged")
    args = ap.parse_args()
    paths, labels = myntra_sample(args.data, args.n, args.level, args.seed)
    print(f"{len(paths)} images, {len(set(labels))} level-{args.level} classes; "
          f"majority baseline {pd.Series(labels).value_counts(normalize=True).iloc[0]:.3f}")
    _, meta = load_weights(args.weights)
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(args.seed)
        random_file = Path(tmp) / "random.safetensors"
        save_weights(SimCLRNet(), random_file, {**meta, "epochs": 0}, torch.float32)
        encoders = {
            "random-init backbone (512)": SimCLRImageEncoder(random_file, output="backbone"),
            "SimCLR backbone (512)": SimCLRImageEncoder(args.weights, output="backbone"),
            "SimCLR projection (128)": SimCLRImageEncoder(args.weights, output="projection"),
        }
        for name, enc in encoders.items():
            x = embed_paths(enc, paths)
            # Several train/test splits: one split of ~900 test images has a standard error of ~1 point.
            lin = [linear_probe_accuracy(x, labels, args.seed + s) for s in range(args.splits)]
            knn = [knn_accuracy(x, labels, seed=args.seed + s) for s in range(args.splits)]
            print(f"{name:28s} linear probe {np.mean(lin):.3f} ± {np.std(lin):.3f}   "
                  f"kNN@10 {np.mean(knn):.3f} ± {np.std(knn):.3f}   ({args.splits} splits)")


if __name__ == "__main__":
    main()
