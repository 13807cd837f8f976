"""The ``hyperknob`` command line: list studies and trials, show the best, delete, demo.

Example:
    $ hyperknob demo                      # tune Branin into sqlite:///hyperknob.db
    $ hyperknob trials demo-branin --format csv
"""

from hyperknob.cli._main import main

__all__ = ["main"]
