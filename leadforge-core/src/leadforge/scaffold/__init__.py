"""``leadforge new-scheme``: render a ready-to-install scheme plugin distribution from a template."""
