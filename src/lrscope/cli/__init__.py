"""The ``lrscope`` command line (``lrscope demo | find | plot | suggest | schedule``).

``lrscope.cli.main(argv)`` runs it in-process and returns the exit code; :class:`Task` is what a
``lrscope find`` factory returns. Importing this package loads neither torch nor matplotlib.
"""

from lrscope.cli._main import build_parser, main
from lrscope.cli._task import Task

__all__ = ["Task", "build_parser", "main"]
