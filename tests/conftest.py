"""Shared test settings: hypothesis runs a fixed, seeded number of examples so the suite is
repeatable and its run time bounded on two cores; a real local Ray cluster for the Ray builds."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("NEARCOPY_HYPOTHESIS_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """A local Ray cluster of 2 CPUs for one test module (modules with a fixture of this name of
    their own use theirs); its address, for the command line's ``--ray-address``."""
    import ray  # only the modules that use the cluster pay for importing Ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()
