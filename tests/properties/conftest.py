"""Hypothesis settings for the property tests: bounded and derandomised by default (CI).

``HYPOTHESIS_PROFILE=explore`` runs many more random examples (not derandomised) when hunting
for counterexamples locally; ``ci`` (the default) replays a fixed set so CI time is bounded and
results are reproducible.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=8, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile(
    "explore", derandomize=False, deadline=None, max_examples=200,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
