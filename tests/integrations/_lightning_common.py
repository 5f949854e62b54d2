"""A tiny LightningModule and data on digits, shared by the Lightning tests and their DDP worker."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch import nn

from lrscope.datasets import load_digits


class DigitsModule(pl.LightningModule):
    def __init__(self, lr: float = 0.01, one_cycle: bool = False) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.lr = lr
        self.net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)  # must not leak from the sweep
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.cross_entropy(self.net(x), y))

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)
        if not self.hparams.one_cycle:
            return opt
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=int(self.trainer.estimated_stepping_batches))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def loaders(n: int = 256, batch_size: int = 32):
    x, y = load_digits()
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x[:n].reshape(n, 64)), torch.from_numpy(y[:n]))
    val = torch.utils.data.TensorDataset(torch.from_numpy(x[n : n + 64].reshape(64, 64)), torch.from_numpy(y[n : n + 64]))
    return (
        torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True),
        torch.utils.data.DataLoader(val, batch_size=batch_size),
    )
