"""Paper E8: the phase diagram of two features in one dimension (n=2, m=1), trained against theory.

Feature 1 has importance 1, the extra feature importance r (0.1 to 10, log); both have density s (1 to 0.01,
log). Published: three phases, the extra feature not learned / stored antipodally with feature 1 /
dedicated (feature 1 dropped), and the empirical diagram matches the one from the closed-form losses
(superpose/theory.py, section 6). Several fits per cell, the lowest exact expected loss kept (the paper fits 10
and drops the worst). Each cell's phase is read from the kept W: which candidate's null vector (W ⊥ v)
is closest to W's.
"""

from __future__ import annotations

import sys

from superpose.experiments.phase_diagram import phase_experiment

from superpose.lab import main

EXPERIMENT = phase_experiment("phase_n2m1", n_features=2, n_hidden=1, description=__doc__)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
