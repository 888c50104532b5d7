"""Device check: train the hierarchical classifier on CUDA (each fusion), predict there and on CPU, compare; time it.

    python3 bench/gpu/cuda_check.py        (on the device, with .gpu/myntra8k.npz from export_inputs.py)
"""
import json
import os
import sys
import time
import types

sys.modules.setdefault("qdrant_edge", types.ModuleType("qdrant_edge"))  # the device lacks it; the store is not used
sys.path.insert(0, ".")
import numpy as np  # noqa: E402
import torch  # noqa: E402

from hiercat.experiment import Split  # noqa: E402
from hiercat.metrics import evaluate_paths  # noqa: E402
from hiercat.model import ModalityInputs, predict, train_classifier  # noqa: E402
from hiercat.model.inputs import CSRArrays  # noqa: E402
from hiercat.taxonomy import Taxonomy, split_path  # noqa: E402

z = np.load(sys.argv[1] if len(sys.argv) > 1 else ".gpu/myntra8k.npz")
dense = {k.split("__")[1]: z[k].astype(np.float32) for k in z.files if k.startswith("dense__")}
sparse = {}
for k in {f.split("__")[1] for f in z.files if f.startswith("sparse__")}:
    sparse[k] = CSRArrays(z[f"sparse__{k}__indptr"], z[f"sparse__{k}__indices"], z[f"sparse__{k}__values"].astype(np.float32),
                          int(z[f"sparse__{k}__dim"][0]))
inputs = ModalityInputs(dense=dense, sparse=sparse)
paths = [split_path(p) for p in z["paths"]]
split = Split.make(paths, 0)
tax = Taxonomy.from_paths([paths[i] for i in np.concatenate([split.train, split.val])])
test = inputs.take(split.test)
true = [paths[i] for i in split.test]
devices = ("cuda", "cpu") if torch.cuda.is_available() else ("cpu",)  # runs anywhere; the point is CUDA vs CPU
print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA", len(paths), list(dense), list(sparse),
      flush=True)
rows = []
for fusion in ("early", "late", "attention"):
    for dev in devices:
        torch.cuda.synchronize() if dev == "cuda" else None
        t = time.perf_counter()
        model, hist = train_classifier(inputs.take(split.train), [paths[i] for i in split.train], tax, fusion=fusion,
                                       val=(inputs.take(split.val), [paths[i] for i in split.val]), epochs=8, patience=8,
                                       device=dev, progress=False, seed=0)
        fit = time.perf_counter() - t
        out = {}
        for decode in ("greedy", "path"):
            pd_dev = predict(model, test, decode=decode, device=dev)
            t = time.perf_counter()
            pd_dev = predict(model, test, decode=decode, device=dev)
            ps = time.perf_counter() - t
            model_cpu = model.to("cpu")
            pd_cpu = predict(model_cpu, test, decode=decode, device="cpu")
            model.to(dev)
            agree = float(np.mean([a == b for a, b in zip(pd_dev.paths, pd_cpu.paths)]))
            m = evaluate_paths(true, pd_dev.paths, model.taxonomy, levels=3)
            out[decode] = {"hF1": round(100 * m["hF1"], 2), "validity": m["validity"], "agree_with_cpu": agree,
                           "products_per_s": round(len(true) / ps)}
        row = {"fusion": fusion, "device": dev, "fit_s": round(fit, 1), "epochs": len(hist.epochs), **out}
        print(json.dumps(row), flush=True)
        rows.append(row)
json.dump(rows, open(os.path.join(os.environ.get("OUT", "/tmp"), "cuda_check.json"), "w"), indent=1)
