"""Tabletop exercises: scenarios as data, a scenario clock, the MSEL, scoring and the after-action report."""
