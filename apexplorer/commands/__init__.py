"""Subcommands of the ``apexplorer`` CLI: each module defines ``register(subparsers)``."""
