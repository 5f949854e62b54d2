"""Run by tests/integrations/test_lightning.py: Trainer(strategy='ddp', accelerator='cpu', devices=2).

Lightning's DDP launcher starts rank 1 by running this script again. Each rank writes ``OUT/rank{r}.json``.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import lightning.pytorch as pl  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from lightning.pytorch.callbacks import Callback, EarlyStopping  # noqa: E402
from tests.integrations._lightning_common import DigitsModule, loaders  # noqa: E402

from lrscope.torch.integrations.lightning import LRScopeFinder  # noqa: E402


class Probe(Callback):
    def __init__(self):
        self.seen = {}

    def on_fit_start(self, trainer, pl_module):
        es = next(c for c in trainer.callbacks if isinstance(c, EarlyStopping))
        self.seen.setdefault("es", []).append(repr(es.state_dict()))
        self.seen.setdefault("weights", []).append({k: v.clone() for k, v in pl_module.state_dict().items()})
        self.seen["global_step_at_start"] = trainer.global_step


def main(out: str) -> None:
    torch.manual_seed(0)
    module = DigitsModule(lr=0.05)
    train, val = loaders()
    p1, p2 = Probe(), Probe()
    finder = LRScopeFinder(start_lr=1e-4, end_lr=10.0, num_steps=30)
    es = EarlyStopping(monitor="val_loss", patience=3)
    trainer = pl.Trainer(
        strategy="ddp", accelerator="cpu", devices=2, max_epochs=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=[p1, finder, p2, es], default_root_dir=out,
    )  # fmt: skip
    trainer.fit(module, train, val)
    w1, w2 = p1.seen["weights"][0], p2.seen["weights"][0]
    with open(os.path.join(out, f"rank{trainer.global_rank}.json"), "w") as f:
        json.dump(
            {
                "world": trainer.world_size,
                "losses": finder.result.losses.tolist(),
                "lrs": finder.result.lrs.tolist(),
                "lr": finder.lr,
                "callbacks_unchanged": p1.seen["es"] == p2.seen["es"],
                "weights_restored": all(torch.equal(w1[k], w2[k]) for k in w1),
                "global_step_at_start": p2.seen["global_step_at_start"],
                "trained_steps": trainer.global_step,
            },
            f,
        )
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
