"""Issue 10 (audit), item 7: a dict batch whose keys do not match ``forward``'s parameters failed with
the model's own TypeError alone. The error must add what lrscope did with the batch: its keys were
passed as keyword arguments, the targets taken from one key; and how to fix it (rename the keys, pass
``target_key``, or use ``step_fn``). The model's own error stays chained as ``__cause__``.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch import nn

from lrscope.torch import range_test


class XOnly(nn.Module):
    """forward takes ``x``; the batches below call their inputs ``pixels``."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x):
        return self.lin(x)


def _setup():
    torch.manual_seed(0)
    model = XOnly()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [{"pixels": torch.randn(8, 4), "mask": torch.ones(8, 4), "y": torch.randint(0, 2, (8,))} for _ in range(3)]
    return model, opt, batches


def test_dict_batch_keys_that_forward_does_not_take_say_what_lrscope_did():
    model, opt, batches = _setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TypeError) as info:
        range_test(model, opt, batches, nn.CrossEntropyLoss(), num_steps=3, progress=False)
    msg = str(info.value)
    assert "keyword arguments" in msg and "'mask'" in msg and "'pixels'" in msg  # what was passed, and how
    assert "'y'" in msg and "target" in msg  # where the targets came from
    assert "target_key" in msg and "step_fn" in msg  # the ways out
    assert isinstance(info.value.__cause__, TypeError)  # the model's own message is kept
    assert "pixels" in str(info.value.__cause__)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # restored, as for any error


def test_the_cli_shows_it_too(tmp_path, capsys):
    from lrscope.cli import main

    spec = tmp_path / "dicts.py"
    spec.write_text(
        "import torch\nfrom torch import nn\n\n"
        "class XOnly(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.lin = nn.Linear(4, 2)\n\n"
        "    def forward(self, x):\n        return self.lin(x)\n\n"
        "def make():\n"
        "    torch.manual_seed(0)\n"
        "    m = XOnly()\n"
        "    b = [{'pixels': torch.randn(8, 4), 'y': torch.randint(0, 2, (8,))} for _ in range(3)]\n"
        "    return m, torch.optim.SGD(m.parameters(), lr=0.1), nn.CrossEntropyLoss(), b\n"
    )
    code = main(["find", f"{spec}:make", "--num-steps", "3", "-o", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "keyword arguments" in err and "'pixels'" in err and "'y'" in err and "target_key" in err


def test_a_type_error_from_inside_the_model_is_passed_on_unchanged():
    class Broken(XOnly):
        def forward(self, x):
            raise TypeError("inside the model")

    model = Broken()
    batches = [{"x": torch.randn(8, 4), "y": torch.randint(0, 2, (8,))}]
    with pytest.raises(TypeError, match="^inside the model$"):
        range_test(model, torch.optim.SGD(model.parameters(), lr=0.1), batches, nn.CrossEntropyLoss(), num_steps=3, progress=False)
