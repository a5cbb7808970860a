"""The demo's feature-flag mapping (`sitrep --demo`): the payments flag the SEV1's story switches off.

Only the mapping: the demo points at no flag service, so the console says how to set Unleash up (or, with
`python -m tests.fakes`, at the loopback fake)."""

from __future__ import annotations

from services.resolution.flags import FlagMapping

DEMO_FLAGS = (
    FlagMapping("payments-api", "payments.new-3ds-flow", environments=("production", "staging"),
                note="New 3-D Secure challenge flow; off falls back to the previous flow"),
    FlagMapping("payments-api", "payments.smart-retry", environments=("production",),
                note="Retries a declined authorisation once"),
    FlagMapping("checkout", "checkout.express-pay", environments=("production",), note="Express pay button"),
)  # fmt: skip


def seed_flag_demo(sitrep) -> None:
    """Map the demo's flags unless the folder already has a mapping of its own."""
    if not sitrep.flags.mapping:
        sitrep.flags.save_mapping(list(DEMO_FLAGS))
