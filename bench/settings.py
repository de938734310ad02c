"""Settings for the benchmark server: the product's own settings plus the naive endpoint.

Everything comes from ``cms.settings`` (so from the environment ``bench/run.py`` sets:
DEBUG=0, PostgreSQL and Redis when available); only the URLconf differs, adding the naive
per-event database endpoint that the beacon is compared with. It is never in product URLs.
"""

from cms.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
