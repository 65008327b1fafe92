"""``python -m leadforge``: the same command as ``leadforge``."""

from leadforge.cli import main

main()
