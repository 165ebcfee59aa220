"""``python -m gradekit.train SPEC.json``: see `gradekit.train`."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
