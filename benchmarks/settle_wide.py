"""Settling the points where units leave, on wide tables: ours with the default (no settling
where the units outnumber the training rows) against the exits settled as on other tables.

``lassonet_cli.exits.settle_rounds`` decides how many rounds of ``max_epochs`` more a point
where units left trains (``exits.settle``).  This script runs ``benchmarks/wide.py`` with the
ranker ``lassonet`` only, twice: at the defaults, then with ``settle_rounds`` replaced by one
that returns ``--rounds`` for every table (in the driver, ``lassonet_cli.path``, which looks
it up in its own namespace).  The rest of the command line goes to ``wide.py``.
Run from the project root::

    .venv/bin/python benchmarks/settle_wide.py --tables colon glioma linear_c arcene --seeds 0 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wide  # noqa: E402

from lassonet_cli import defaults  # noqa: E402
from lassonet_cli import path as path_module  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Run wide.py for ours at the defaults, then with every table's exits settled."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=defaults.SETTLE_ROUNDS,
                        help="settle rounds on every table in the second run (default "
                             "%(default)s, the full-batch default on other tables)")
    args, rest = parser.parse_known_args(argv)
    rest = [*rest, "--rankers", "lassonet"]
    print("#### default: no settling where the units outnumber the training rows", flush=True)
    status = wide.main(rest)
    print(f"\n#### settled: {args.rounds} round(s) on every table", flush=True)
    default = path_module.settle_rounds
    path_module.settle_rounds = lambda config, n_units, n_rows: args.rounds
    try:
        return max(status, wide.main(rest))
    finally:
        path_module.settle_rounds = default


if __name__ == "__main__":
    sys.exit(main())
