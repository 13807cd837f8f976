"""Run the command line with ``python -m hyperknob.cli``."""

import sys

from hyperknob.cli._main import main

if __name__ == "__main__":
    sys.exit(main())
