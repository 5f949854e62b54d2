"""The declared hold-out (issue 14), committed on its own before anything was fitted.

Every task whose data set is in ``HOLDOUT_DATA`` or whose model family is in ``HOLDOUT_MODELS`` is
held out: no choice (features, model, constants) ever reads its results. They are read once, at the
end, to apply the issue's stop rule. Everything else is chosen by leave-one-family-out on the rest.
"""

from __future__ import annotations

#: whole data sets no choice will ever see
HOLDOUT_DATA: tuple[str, ...] = ("breast_cancer",)
#: whole model families no choice will ever see
HOLDOUT_MODELS: tuple[str, ...] = ("gru",)


def is_held_out(data: str, model: str) -> bool:
    return data in HOLDOUT_DATA or model in HOLDOUT_MODELS
