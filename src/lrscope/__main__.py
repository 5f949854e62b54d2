"""``python -m lrscope`` (and ``torchrun --nproc_per_node=N -m lrscope find SPEC``) = the ``lrscope`` command."""

import sys

from lrscope.cli import main

sys.exit(main())
