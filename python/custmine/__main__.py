"""``python -m custmine`` is the ``custmine`` command."""
import sys

from .cli import main

sys.exit(main())
