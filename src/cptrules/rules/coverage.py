"""Rules of the coverage family (being written)."""
