"""lrscope inside PyTorch Lightning (issue 12): lr_find on a module, the LRScopeFinder callback on a
Trainer (EarlyStopping/ModelCheckpoint undisturbed, no files, no trainer state changed), and DDP with two
CPU processes (gloo) in a killable subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint  # noqa: E402

from lrscope.torch.integrations.lightning import LRScopeFinder, lr_find, scheduler_config  # noqa: E402

from ._lightning_common import DigitsModule, loaders  # noqa: E402

WORKER = Path(__file__).with_name("_lightning_worker.py")


def _trainer(tmp_path, callbacks, **kw):
    kw.setdefault("max_epochs", 2)
    return pl.Trainer(
        default_root_dir=tmp_path, accelerator="cpu", devices=1, logger=False,
        enable_progress_bar=False, enable_model_summary=False, callbacks=callbacks, deterministic=True, **kw,
    )  # fmt: skip


def test_lr_find_sets_the_attribute_and_restores():
    torch.manual_seed(0)
    module = DigitsModule(lr=0.01)
    train, val = loaders()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    rng = torch.get_rng_state()
    result = lr_find(module, train, val_dataloaders=val, start_lr=1e-4, end_lr=10.0, num_steps=40)
    assert result.config["integration"] == "lightning" and result.config["lr_attr"] == "lr"
    s = result.suggest()
    assert s.found and module.lr == pytest.approx(s.lr)
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    assert (~torch.isnan(torch.as_tensor(result.val_losses))).any()


def test_lr_find_hparams_attribute_and_refusals():
    class HP(DigitsModule):
        def __init__(self):
            super().__init__()
            del self.lr
            del self.hparams["lr"]
            self.hparams.learning_rate = 0.01

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=self.hparams.learning_rate)

    torch.manual_seed(0)
    m = HP()
    result = lr_find(m, loaders()[0], start_lr=1e-4, end_lr=10.0, num_steps=30)
    assert result.config["lr_attr"] == "learning_rate" and m.hparams.learning_rate == pytest.approx(result.suggest().lr)
    with pytest.raises(AttributeError, match="no LR attribute"):
        lr_find(m, loaders()[0], attr_name="nope", num_steps=5)

    class Two(DigitsModule):
        def configure_optimizers(self):
            return [torch.optim.SGD(self.parameters(), lr=0.1), torch.optim.Adam(self.parameters())]

    with pytest.raises(ValueError, match="exactly one optimizer"):
        lr_find(Two(), loaders()[0], num_steps=5)


class _Probe(Callback):
    """Records, at on_fit_start, what the finder must not change."""

    def __init__(self, store, tag):
        self.store, self.tag = store, tag

    def on_fit_start(self, trainer, pl_module):
        es = next(c for c in trainer.callbacks if isinstance(c, EarlyStopping))
        mc = next(c for c in trainer.callbacks if isinstance(c, ModelCheckpoint))
        self.store[self.tag] = {
            "es": repr(es.state_dict()),
            "mc": repr(mc.state_dict()),
            "global_step": trainer.global_step,
            "epoch": trainer.current_epoch,
            "metrics": dict(trainer.callback_metrics),
            "files": sorted(str(p) for p in Path(trainer.default_root_dir).rglob("*")),
            "weights": {k: v.clone() for k, v in pl_module.state_dict().items()},
            "rng": torch.get_rng_state(),
            "should_stop": trainer.should_stop,
        }


def _fit(tmp_path, finder, lr=0.05):
    torch.manual_seed(0)
    module = DigitsModule(lr=lr)
    train, val = loaders()
    store = {}
    es = EarlyStopping(monitor="val_loss", patience=3)
    mc = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss")
    cbs = [_Probe(store, "before")] + ([finder] if finder else []) + [_Probe(store, "after"), es, mc]
    trainer = _trainer(tmp_path, cbs)
    trainer.fit(module, train, val)
    return module, trainer, store, es, mc


def test_callback_leaves_callbacks_trainer_and_disk_alone(tmp_path):
    finder = LRScopeFinder(start_lr=1e-4, end_lr=10.0, num_steps=30, update_attr=False)
    module, trainer, store, es, mc = _fit(tmp_path / "a", finder)
    b, a = store["before"], store["after"]
    for key in ("es", "mc", "global_step", "epoch", "metrics", "files", "should_stop"):
        assert b[key] == a[key], key
    assert all(torch.equal(b["weights"][k], v) for k, v in a["weights"].items())
    # (the global RNG moved: setup_data() drew the loader's seed, as the fit loop would have right after;
    # the reference fit below shows the run is the same one)
    assert finder.result is not None and len(finder.result.lrs) >= 10
    assert finder.lr is not None and module.lr == 0.05  # update_attr=False: suggested, not set
    # the whole fit is the one it would have been without the finder: same weights, same callback states
    ref, _, _, es_ref, mc_ref = _fit(tmp_path / "b", None)
    for (k, v), (k2, v2) in zip(module.state_dict().items(), ref.state_dict().items()):
        assert k == k2 and torch.equal(v, v2), k
    assert es.wait_count == es_ref.wait_count and float(es.best_score) == float(es_ref.best_score)
    assert float(mc.best_model_score) == float(mc_ref.best_model_score)
    assert sorted(p.name for p in (tmp_path / "a" / "ckpt").iterdir()) == sorted(p.name for p in (tmp_path / "b" / "ckpt").iterdir())
    assert not [p for p in (tmp_path / "a").rglob("*") if "lr_find" in p.name]


def test_callback_sets_lr_and_rebuilds_one_cycle(tmp_path):
    torch.manual_seed(0)
    module = DigitsModule(lr=0.05, one_cycle=True)
    finder = LRScopeFinder(start_lr=1e-4, end_lr=10.0, num_steps=30)
    seen = {}

    class Peek(Callback):
        def on_train_start(self, trainer, pl_module):
            seen["max_lr"] = trainer.optimizers[0].param_groups[0]["max_lr"]
            seen["opt"] = trainer.optimizers[0]

    trainer = _trainer(tmp_path, [finder, Peek()], max_epochs=1)
    trainer.fit(module, *loaders())
    assert finder.lr is not None and module.lr == pytest.approx(finder.lr)
    assert seen["max_lr"] == pytest.approx(finder.lr)  # configure_optimizers ran again with self.lr


def test_scheduler_config_one_cycle():
    torch.manual_seed(0)
    module = DigitsModule()
    result = lr_find(module, loaders()[0], start_lr=1e-4, end_lr=10.0, num_steps=40, update_attr=False)
    opt = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    cfg = scheduler_config(opt, result, "one_cycle", total_steps=100)
    assert cfg["interval"] == "step" and cfg["frequency"] == 1
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        cfg["scheduler"].step()
    assert max(lrs) == pytest.approx(result.bounds().max_lr, rel=1e-6)


def _launch(tmp_path: Path, timeout: float = 240) -> list[dict]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("LOCAL_RANK", None)
    cmd = [sys.executable, str(WORKER), str(tmp_path)]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:  # a hang fails the test instead of hanging CI
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"Lightning DDP run did not finish in {timeout} s:\n{out[-4000:]}")
    assert proc.returncode == 0, out[-4000:]
    return [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]


def test_ddp_two_cpu_processes(tmp_path):
    """Trainer(strategy='ddp', accelerator='cpu', devices=2): both ranks run the sweep through DDP, record
    the same curve (the distributed engine's all-reduced losses), set the same LR, and train on."""
    ranks = _launch(tmp_path)
    a, b = ranks
    assert a["world"] == b["world"] == 2
    assert a["losses"] == b["losses"] and a["lrs"] == b["lrs"]
    assert a["lr"] == b["lr"] is not None
    for d in ranks:
        assert d["callbacks_unchanged"] and d["weights_restored"] and d["global_step_at_start"] == 0
        assert d["trained_steps"] > 0
    assert not [p for p in tmp_path.rglob("*.ckpt")]  # the worker's ModelCheckpoint is off; the finder writes none
