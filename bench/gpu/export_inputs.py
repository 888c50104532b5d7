"""Pack a random sample of one platform's stored inputs into .gpu/myntra8k.npz for bench/gpu/cuda_check.py.

    python bench/gpu/export_inputs.py --store STORE [--platform myntra] [--n 8000]

The device machine receives the repository only, not the store; this file (about 18 MB) travels
with `carry: [".gpu"]`. The shoe images for simclr_shoes.py go to .gpu/img with their list in
.gpu/shoes.txt (one path per line, relative to the repository root).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hiercat.experiment import label_paths, load_training_data
from hiercat.model import inputs_from_stored
from hiercat.store import open_store
from hiercat.taxonomy import join_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--platform", default="myntra")
    ap.add_argument("--labels", default="native_category")
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--out", default=".gpu/myntra8k.npz")
    args = ap.parse_args()
    with open_store(args.store) as store:
        products = load_training_data(store, [args.platform])
    paths = label_paths(products, args.labels)
    idx = np.sort(np.random.default_rng(0).choice(len(paths), min(args.n, len(paths)), replace=False))
    sub = inputs_from_stored(products).take(idx)
    arrays = {f"dense__{k}": v.astype(np.float16) for k, v in sub.dense.items()}
    for k, c in sub.sparse.items():
        arrays.update({f"sparse__{k}__indptr": c.indptr, f"sparse__{k}__indices": c.indices.astype(np.int32),
                       f"sparse__{k}__values": c.values.astype(np.float16), f"sparse__{k}__dim": np.array([c.dim])})
    arrays["paths"] = np.array([join_path(paths[i]) for i in idx])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"{len(idx)} products -> {args.out}")


if __name__ == "__main__":
    main()
