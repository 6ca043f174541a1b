"""Rules of the timing family (being written)."""
