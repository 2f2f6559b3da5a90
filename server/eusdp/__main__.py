"""``python -m eusdp``: the same command as the ``eusdp`` console script."""

from .cli import main

raise SystemExit(main())
