"""The benchmarks and data builders (``make bench`` runs ``scripts.bench``)."""

from __future__ import annotations

import os


def installed_env() -> dict[str, str]:
    """This process's environment for a measured subprocess, as an installed command runs:
    without ``PYTHONDONTWRITEBYTECODE`` (set in this machine's environment), which would make
    every run compile cyclemap's modules from source again (about 0.1 s) and measure that."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
