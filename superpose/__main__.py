"""`python -m superpose ...` is the `superpose` command."""

import sys

from superpose.lab.cli import main

sys.exit(main())
