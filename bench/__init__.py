"""Measurements: speed and memory, written down, never asserted by a timed test. Run `python -m bench`.

Nothing is imported here: the start-up benchmark's child processes import bench.startup_probe, and
whatever this file pulled in would count against both sides.
"""
