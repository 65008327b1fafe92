"""leadforge lifecycle (pLTV) scheme."""
