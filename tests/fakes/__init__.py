"""Loopback HTTP fakes of the vendors Sitrep talks to. Each one validates every request against the
vendor's published spec in ../shared/specs and can be told to fail in the ways real networks do."""
