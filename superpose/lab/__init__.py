"""The lab around the science core: the run store, resumable experiments, lineage and the `superpose` command.

    store.py       run directories, atomic writes, finding and listing runs
    experiment.py  the Experiment spec and the resumable sweeps of a run (Context)
    runner.py      a run's life cycle, the options of `superpose run`, exit codes
    lineage.py     config.json, sessions in lineage.json, compile time
    overrides.py   `--set KEY=VALUE` parsing and validation of an experiment's Config
    fields.py      declaring a Config field's checks
    registry.py    the experiments by name
    progress.py    progress bars and log lines
    runtime.py     process-wide settings for entry points only
    cli.py         the `superpose` command
    probes.py      probe activations and measured feature importance of a run's kept models
    fact_probes.py the same for a fact-lookup MLP (name tokens' and neurons' shares of each margin)

The core (superpose/config.py ... metrics.py) never imports from here.
"""

from superpose.lab.experiment import Experiment, check
from superpose.lab.fact_probes import FactProbes
from superpose.lab.probes import Probes
from superpose.lab.runner import main

__all__ = ["Experiment", "FactProbes", "Probes", "check", "main"]
