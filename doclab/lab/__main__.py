"""``python -m doclab.lab up|down|status|prune|check``: the lab's command line (see ``control.main``)."""

import sys

from doclab.lab.control import main

sys.exit(main())
