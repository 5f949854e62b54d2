"""One command per task: ``python -m benchmarks.quality.run --task digits_mlp``.

Stages (default: all): ``grid`` (ground truth), ``sweeps`` (every finder's sweep on 3 data orders),
``score`` (train at every suggestion); ``--report`` rebuilds docs/quality.md and the plots from the
cache of every task.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from benchmarks.quality.tasks import TASKS


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--task", action="append", choices=sorted(TASKS), help="task(s) to run (default: all)")
    p.add_argument("--stage", choices=["grid", "sweeps", "score", "all"], default="all")
    p.add_argument("--report", action="store_true", help="write docs/quality.md and docs/img/quality_*.png")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    log = logging.getLogger("quality").info
    names = args.task or ([] if args.report else list(TASKS))  # --report alone only rebuilds the docs
    for name in names:
        task = TASKS[name]
        t0 = time.time()
        if args.stage in ("grid", "all"):
            from benchmarks.quality.train import run_grid

            run_grid(task, log=log)
        if args.stage in ("sweeps", "score", "all"):
            from benchmarks.quality.score import score_task

            score_task(task, log=log, train_suggestions=args.stage in ("score", "all"))
        log(f"{name}: done in {time.time() - t0:.0f} s")
    if args.report:
        from benchmarks.quality.report import write_report

        write_report(log=log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
