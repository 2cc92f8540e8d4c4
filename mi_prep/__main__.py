"""`python -m mi_prep` is `mi-prep`."""

import sys

from mi_prep.cli import main

sys.exit(main())
