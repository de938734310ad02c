"""Settings of the app servers tests start as subprocesses (tests/cms/test_database_restart.py):
the product's own, from the environment the test gives (DEBUG=0 among it), except static files
served unhashed, so a server starts without ``collectstatic`` (its pages still render)."""

from cms.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
