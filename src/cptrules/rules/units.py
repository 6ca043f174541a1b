"""Rules of the units family (being written)."""
