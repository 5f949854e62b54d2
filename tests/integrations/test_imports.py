"""The integrations are optional: `import lrscope` and `import lrscope.torch` load none of their frameworks."""

from __future__ import annotations

import subprocess
import sys


def test_lrscope_torch_imports_no_framework():
    code = (
        "import sys, lrscope, lrscope.torch, lrscope.torch.integrations.schedulefree\n"
        "bad = [m for m in ('lightning', 'pytorch_lightning', 'accelerate', 'schedulefree') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
