"""``python -m pipeline`` is the ``newsingest`` command."""

import sys

from pipeline.cli import main

sys.exit(main())
