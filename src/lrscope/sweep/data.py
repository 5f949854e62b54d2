"""Batches from any iterable, for engines that iterate the user's data themselves (numpy only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["BatchStream", "END"]

END = object()  #: sentinel: the data ran out


class BatchStream:
    """Next batch from any iterable; cycles a re-iterable one, reports a one-shot one running dry.

    ``passes`` counts the passes that yielded at least one batch and ``total`` the batches drawn
    (the driver's "data was cycled" note reads both); ``first`` is the first batch (its size goes
    into the result's config).
    """

    __slots__ = ("data", "it", "reiterable", "passes", "in_pass", "total", "first")

    def __init__(self, data: Iterable[Any]) -> None:
        self.data = data
        self.it: Any = None  # iter(data) is called at the first next(), inside the sweep's try
        self.reiterable = False
        self.passes = 0
        self.in_pass = 0
        self.total = 0
        self.first: Any = None

    def next(self) -> Any:
        """The next batch, or :data:`END` when a one-shot iterable (or an empty pass) ran out."""
        if self.it is None:
            self.it = iter(self.data)
            self.reiterable = self.it is not self.data  # a generator/iterator returns itself
        try:
            b = next(self.it)
        except StopIteration:
            if not self.reiterable or self.in_pass == 0:
                return END
            self.it = iter(self.data)
            self.in_pass = 0
            try:
                b = next(self.it)
            except StopIteration:  # nothing new (e.g. __iter__ handed back the same spent iterator)
                return END
        if self.in_pass == 0:
            self.passes += 1  # a new pass counts only once it yields a batch
        if self.total == 0:
            self.first = b
        self.in_pass += 1
        self.total += 1
        return b
