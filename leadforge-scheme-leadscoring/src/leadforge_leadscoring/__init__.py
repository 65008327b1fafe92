"""leadforge lead_scoring scheme."""
