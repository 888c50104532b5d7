"""Device run: fine-tune the shipped SimCLR encoder on the images in .gpu/shoes.txt for a time budget.

    python3 bench/gpu/simclr_shoes.py SECONDS [WORKERS]     (on the device; weights to $OUT in 15 MB parts)
"""
import json
import os
import subprocess
import sys
import time
import types

sys.modules.setdefault("qdrant_edge", types.ModuleType("qdrant_edge"))  # the device lacks it; the store is not used
sys.path.insert(0, ".")
import torch  # noqa: E402

from hiercat.encoders.simclr import default_weights_path, train_simclr  # noqa: E402

budget = float(sys.argv[1])
workers = int(sys.argv[2]) if len(sys.argv) > 2 else 12
out = os.environ.get("OUT", "/tmp/out")
paths = [line.strip() for line in open(".gpu/shoes.txt") if line.strip()]
print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "", len(paths), flush=True)
kw = dict(batch_size=512, num_workers=workers, init_weights=default_weights_path(), progress=False, strength="middle")
probe = train_simclr(paths, "/tmp/probe.safetensors", epochs=2, **kw)
per_epoch = probe["train_seconds"] / 2
epochs = max(2, int(budget / per_epoch))
print(f"probe: {per_epoch:.2f} s/epoch ({probe['steps_per_epoch']} steps) -> {epochs} epochs", flush=True)
t = time.time()
meta = train_simclr(paths, "/tmp/shoes.safetensors", epochs=epochs, max_seconds=budget * 1.3,
                    log_path=f"{out}/simclr_shoes.log.jsonl", **kw)
print(json.dumps({k: meta[k] for k in ("epochs", "step", "train_seconds", "images") if k in meta}), flush=True)
print("epoch_loss", meta["epoch_loss"][:3], "...", meta["epoch_loss"][-3:], "wall", round(time.time() - t, 1), flush=True)
subprocess.run(["split", "-b", "15M", "-d", "/tmp/shoes.safetensors", f"{out}/shoes.safetensors.part"], check=True)
json.dump(meta, open(f"{out}/meta.json", "w"), indent=1, default=str)
