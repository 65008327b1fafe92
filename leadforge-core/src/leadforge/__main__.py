"""``python -m leadforge``: the same command as ``leadforge`` (with the same leftover check)."""

from leadforge.legacy import main

main()
