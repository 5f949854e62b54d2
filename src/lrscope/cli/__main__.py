"""``python -m lrscope.cli`` = the ``lrscope`` command."""

import sys

from lrscope.cli import main

sys.exit(main())
