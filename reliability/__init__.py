"""The reliability suite: Sitrep tried as a hostile and unlucky user would, with figures.

`python -m reliability` (full size) or `python -m reliability --size small` (what CI runs, through
tests/test_reliability.py). Each scenario prints its figures (runs, acknowledged, lost, duplicated,
refused clearly, internal errors) and whether it holds the bar in docs/reliability.md. Everything is
real: SQLite files, child processes killed with SIGKILL, the vendors' loopback fakes from tests/fakes.
"""
