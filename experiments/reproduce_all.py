"""Run every paper experiment at full scale, refresh figures/, and print a table of wall times and checks.

python experiments/reproduce_all.py            # full scale (see README for the total time)
python experiments/reproduce_all.py --quick    # every --quick mode, e.g. as a smoke test
python experiments/reproduce_all.py --only intro,uniform
"""

from __future__ import annotations

import argparse
import sys
import time

from superpose.lab import registry
from superpose.lab.runner import add_run_arguments, guarded, install_interrupt_handler, run_experiment
from superpose.lab.runtime import prepare_entry_point

# Paper order; scripts that are not (yet) present are skipped.
ORDER = (
    "intro",
    "basic",
    "across_sparsity",
    "uniform",
    "nonuniform",
    "correlated",
    "phase_n2m1",
    "phase_n3m2",
    "privileged_basis",
    "abs_value",
    "learning_dynamics",
    "octahedron",
    "adversarial",
    # beyond the paper
    "facts",
    "packing",
    "double_descent",
    "sae",
    "fact_finding",
    "scaling",
    "universal_and",
    "compressed",
    "sae_toy",
    "sae_structured",
)
# Experiments that reproduce nothing by themselves: the generic sweep behind `superpose sweep`.
NOT_REPRODUCED = ("sweep",)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_run_arguments(parser)
    parser.add_argument("--only", default="", help="comma-separated experiment names (default: all)")
    args = parser.parse_args(argv)
    prepare_entry_point()  # before JAX starts: one device per core
    install_interrupt_handler()
    names = [n for n in (args.only.split(",") if args.only else ORDER) if n]
    known = registry.available()
    unknown = [n for n in names if n not in known]
    if args.only and unknown:
        print(f"error: unknown experiment(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    rows, failed = [], 0
    total0 = time.perf_counter()
    for name in names:
        if name in unknown:
            continue
        print(f"== {name}", flush=True)
        t0 = time.perf_counter()
        exp = registry.load_experiment(name)
        code = guarded(lambda exp=exp: run_experiment(exp, args))
        if code == 130:  # Ctrl-C: guarded() printed how to resume this run; do not start the next one
            return 130
        rows.append((name, time.perf_counter() - t0, "ok" if code == 0 else "CHECK FAILED"))
        failed += code != 0
    print(f"\n{'experiment':<18}{'wall':>9}  checks")
    for name, wall, status in rows:
        print(f"{name:<18}{wall:>8.1f}s  {status}")
    print(f"{'total':<18}{time.perf_counter() - total0:>8.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
