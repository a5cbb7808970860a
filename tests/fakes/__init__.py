"""Loopback HTTP fakes of the vendors Sitrep talks to. Each one checks every request against its own
contract, written from the vendor's documentation (tests/fakes/*_contract.py), and against the vendor's
published spec as well when the specs are found (SITREP_SPECS or ../shared/specs); each can be told to
fail in the ways real networks do."""
