"""Suggestion-quality benchmark (issue 5): ground-truth LR grids, finder rules scored against them.

Not part of CI. Run one task with ``python -m benchmarks.quality.run --task digits_mlp`` from the
repository root; results are cached under ``benchmarks/quality/cache/`` (git-ignored).
"""
