"""Rules of the modifiers family (being written)."""
