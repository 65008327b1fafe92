"""leadforge recipe packs."""
