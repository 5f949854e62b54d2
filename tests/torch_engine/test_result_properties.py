"""Issue 10, item 4: the fuzz property on results built by the engine, not only on arrays.

Any run the PyTorch engine returns - a scripted loss sequence drawn by Hypothesis (NaN, inf, huge,
negative, flat), stopped by divergence, by a Ctrl-C at any step (the first included) under
``on_interrupt="return"``, or completed - gives from every rule a suggestion inside the swept range
or an abstention with a reason; ``suggestions()``, ``candidates()`` and ``bounds()`` never raise;
the result survives a JSON round trip with the same answers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from lrscope.analysis import available_rules  # noqa: E402
from lrscope.result import RangeTestResult  # noqa: E402
from lrscope.torch import range_test  # noqa: E402

losses_any = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.floats(0.0, 10.0, width=32),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e30]),
)


@st.composite
def runs(draw):
    n = draw(st.integers(2, 40))
    losses = draw(st.lists(losses_any, min_size=n, max_size=n))
    if draw(st.booleans()):  # a plausible falling curve underneath the drawn values
        losses = [3.0 - 2.0 * i / n + (0.01 * v if math.isfinite(v) else v) for i, v in enumerate(losses)]
    interrupt_at = draw(st.none() | st.integers(0, n))  # 0: Ctrl-C before the first step
    mode = draw(st.sampled_from(["exp", "linear"]))
    threshold = draw(st.sampled_from([None, 4.0]))
    return n, losses, interrupt_at, mode, threshold


def scripted_run(n, losses, interrupt_at, mode, threshold):
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = [(torch.ones(4, 2), torch.zeros(4, 1))]
    calls = {"i": 0}

    def step_fn(m, batch):
        i = calls["i"]
        calls["i"] += 1
        if interrupt_at is not None and i == interrupt_at:
            raise KeyboardInterrupt
        v = float(losses[i % len(losses)])
        return m(batch[0]).sum() * 0.0 + torch.tensor(v, dtype=torch.float32)

    return range_test(model, opt, data, step_fn=step_fn, num_steps=n, start_lr=1e-4, end_lr=1.0, mode=mode,
                      diverge_threshold=threshold, progress=False, on_interrupt="return", chunk_size=4)


def _inside(lr, lrs):
    return lrs[0] <= lr <= lrs[-1]


def check(res: RangeTestResult) -> None:
    lrs = res.lrs
    sugg = res.suggestions()
    assert sorted(sugg) == available_rules()
    for name in available_rules():
        for s in (res.suggest(name), sugg[name]):
            assert s.method == name
            if s.found:
                assert math.isfinite(s.lr) and _inside(s.lr, lrs), (name, s)
                if s.interval is not None:
                    assert _inside(s.interval[0], lrs) and _inside(s.interval[1], lrs)
            else:
                assert isinstance(s.reason, str) and s.reason, (name, s)
    default = res.suggest()
    assert default.found or default.reason
    for c in res.candidates():
        assert (c.found and _inside(c.lr, lrs)) or (not c.found and c.reason)
    b = res.bounds()
    assert (b.found and _inside(b.base_lr, lrs) and _inside(b.max_lr, lrs)) or (not b.found and b.reason)
    if len(res) == 0:
        assert not default.found and "no points" in default.reason


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
@example((10, [2.0] * 10, 0, "exp", 4.0))  # Ctrl-C before the first step: no points
@example((10, [math.nan] * 10, None, "exp", None))  # non-finite from the start
@example((30, [3.0 - i / 15 for i in range(30)], None, "linear", 4.0))  # a plain linear fall
def test_every_engine_result_suggests_inside_the_range_or_abstains_with_a_reason(run):
    n, losses, interrupt_at, mode, threshold = run
    res = scripted_run(n, losses, interrupt_at, mode, threshold)
    assert res.sweep == mode
    if interrupt_at == 0:
        assert len(res) == 0 and res.stop_reason == "interrupted"
    check(res)
    again = RangeTestResult.from_dict(res.to_dict())
    assert again.sweep == res.sweep
    assert {k: (s.lr, s.reason) for k, s in again.suggestions().items()} == {
        k: (s.lr, s.reason) for k, s in res.suggestions().items()}
    np.testing.assert_array_equal(again.losses, res.losses)
