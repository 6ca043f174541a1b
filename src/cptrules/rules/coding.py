"""Rules of the coding family (being written)."""
