"""``python -m cyclemap`` is the ``cyclemap`` command."""

from .cli import main

main()
