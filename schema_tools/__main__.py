"""``python -m schema_tools``."""

import sys

from .cli import main

sys.exit(main())
