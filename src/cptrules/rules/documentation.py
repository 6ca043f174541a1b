"""Rules of the documentation family (being written)."""
