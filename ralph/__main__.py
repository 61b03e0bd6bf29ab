"""``python -m ralph``."""

import sys

from .cli import main

sys.exit(main())
