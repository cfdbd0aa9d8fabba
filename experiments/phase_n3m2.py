"""Paper E9: the phase diagram of three features in two dimensions (n=3, m=2), trained against theory.

Features 1 and 2 have importance 1, the extra feature (the third) importance r (0.1 to 10, log); all have
density s (1 to 0.01, log). Published: four candidate solutions, W ⊥ [0,0,1] (extra dropped), W ⊥ [1,0,0]
(another dropped), W ⊥ [0,1,1] (extra antipodal with another), W ⊥ [1,1,0] (extra dedicated, the other two
antipodal); theory (superpose/theory.py, section 6) picks the one of least closed-form loss. Several fits per cell, the lowest exact expected loss kept (the paper fits 10
and drops the worst). Each cell's phase is read from the kept W: which candidate's null vector (W ⊥ v)
is closest to W's.
"""

from __future__ import annotations

import sys

from superpose.experiments.phase_diagram import phase_experiment

from superpose.lab import main

EXPERIMENT = phase_experiment("phase_n3m2", n_features=3, n_hidden=2, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
