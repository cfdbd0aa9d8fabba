"""`python -m superpose ...` is the `superpose` command."""

from superpose.lab.cli import console

console()
