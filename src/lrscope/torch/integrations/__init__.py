"""Thin wrappers of :func:`lrscope.torch.range_test` for training frameworks (optional extras).

Each submodule imports its framework only when it is imported itself, so ``import lrscope.torch``
never loads them:

* :mod:`lrscope.torch.integrations.lightning` — PyTorch Lightning (``pip install 'lrscope[lightning]'``):
  :func:`~lrscope.torch.integrations.lightning.lr_find` and the
  :class:`~lrscope.torch.integrations.lightning.LRScopeFinder` callback.
* :mod:`lrscope.torch.integrations.accelerate` — Hugging Face Accelerate (``pip install 'lrscope[accelerate]'``):
  :func:`~lrscope.torch.integrations.accelerate.range_test` on ``accelerator.prepare``-d objects.
* :mod:`lrscope.torch.integrations.schedulefree` — Schedule-Free optimizers: detected by duck typing and
  handled by the engine itself (no import of ``schedulefree``).

All of them run the one torch engine, so under an initialised ``torch.distributed`` process group they
get its all-reduced losses and agreed stop like any other range test.
"""
