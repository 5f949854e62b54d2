"""Pure ``step -> lr`` schedules (numpy only)."""

from lrscope.schedules.base import Schedule

__all__ = ["Schedule"]
