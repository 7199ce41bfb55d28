"""Hypothesis profiles for the whole suite.

`ci` (chosen when CI=true, as `.ci/run` sets it): derandomized, no deadline, no example
database, few examples, so runs are repeatable and fast. `dev` (the default): random, a few
more examples. HYPOTHESIS_PROFILE=<name> picks one explicitly (e.g. `thorough`).
"""

import os

from hypothesis import HealthCheck, settings

_quiet = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=15, database=None,
    suppress_health_check=_quiet, print_blob=True,
)
settings.register_profile("dev", deadline=None, max_examples=30, suppress_health_check=_quiet)
settings.register_profile("thorough", deadline=None, max_examples=200,
                          suppress_health_check=_quiet)
# `make fuzz`: 100 times the ci profile's examples, derandomized off, so each run explores anew
settings.register_profile("fuzz", deadline=None, max_examples=1500, database=None,
                          suppress_health_check=_quiet, print_blob=True)

_ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if _ci else "dev"))
