"""Rules of the plan_of_care family (being written)."""
