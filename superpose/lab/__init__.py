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

The core (superpose/config.py ... metrics.py) never imports from here.
"""

from superpose.lab.experiment import Experiment
from superpose.lab.runner import main

__all__ = ["Experiment", "main"]
