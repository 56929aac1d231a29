"""`python -m tui.cli` runs the `mnist-tui` command."""

import sys

from tui.cli.main import main

sys.exit(main())
