"""``python -m dynsys_eos`` runs the ``dynsys-eos`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
