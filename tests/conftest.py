"""Shared pytest configuration.

Hypothesis runs deterministically (derandomize=True, no example database) so that a property
failure reproduces on every machine and in CI; ``print_blob=True`` prints the reproduction blob.
Set ``HYPOTHESIS_PROFILE=thorough`` locally for a longer randomised search.
"""

from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, Phase, settings
except ImportError:  # hypothesis is a test extra; only tests/test_properties.py needs it
    pass
else:
    settings.register_profile(
        "eap-ci",
        derandomize=True,
        database=None,
        max_examples=40,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
        # no shrinking in the default profile: a failure is reported as first found (still
        # reproducible, and small: the strategies draw tiny arrays), which keeps a failing
        # property to seconds instead of minutes. The "thorough" profile shrinks.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    settings.register_profile(
        "thorough",
        parent=settings.get_profile("eap-ci"),
        derandomize=False,
        max_examples=500,
        phases=list(Phase),
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "eap-ci"))
