"""Measurements: speed and memory, written down, never asserted by a timed test."""
