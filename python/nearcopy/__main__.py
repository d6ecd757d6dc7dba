"""`python -m nearcopy` is the `nearcopy` command."""

import sys

from nearcopy.cli import main

sys.exit(main())
