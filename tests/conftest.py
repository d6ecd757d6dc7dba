"""Shared test settings: hypothesis runs a fixed, seeded number of examples so the suite is
repeatable and its run time bounded on two cores."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("NEARCOPY_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")
