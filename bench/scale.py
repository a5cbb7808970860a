"""How big and how long: one object every benchmark reads, so --quick and the smoke test shrink them all."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Scale:
    rounds: int = 7  # interleaved subject/floor rounds per benchmark
    appends_per_round: int = 100  # commits timed per round in the append benchmark
    timeline_entries: int = 100_000  # the long incident the view benchmarks open
    live_appends_per_round: int = 20  # appends timed per round in the live-append benchmark
    label: str = "full"
    # For benchmarks from other areas (bench/metrics_bench.py, bench/sync_bench.py): multiply your
    # full-size workload by this (1.0 full, smaller for --quick, tiny for the smoke test).
    factor: float = 1.0
    warmup: bool = True  # an untimed first run of each side (the smoke test skips it)
    every_variant: bool = True  # e.g. start-up on --demo and on an existing store (the smoke test: one)

    def with_rounds(self, rounds: int | None) -> Scale:
        return self if rounds is None else replace(self, rounds=max(1, rounds))


FULL = Scale()
QUICK = Scale(
    rounds=3,
    appends_per_round=40,
    timeline_entries=100_000,
    live_appends_per_round=8,
    label="quick",
    factor=0.2,
)
# For the smoke test: every code path once, on sizes that take milliseconds.
TINY = Scale(
    rounds=1,
    appends_per_round=3,
    timeline_entries=500,
    live_appends_per_round=2,
    label="tiny",
    factor=0.005,
    warmup=False,
    every_variant=False,
)
