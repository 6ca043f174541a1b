"""Rules of the ncci family (being written)."""
