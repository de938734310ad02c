"""What the browser tests share: Debian's Chromium, started by Playwright when a test asks."""

import contextlib

import pytest
from django.core.servers.basehttp import WSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread

from tests.e2e.browser import CHROMIUM, FLAGS, screenshot_on_failure

WAIT_MS = 30_000


class OneRequestAtATimeServer(WSGIServer):
    """The live server without threads: each request is answered before the next is read.

    On SQLite the test database is in memory, and the live server shares the tests' one
    connection with every request thread. A browser sends several requests at once (a page,
    its beacons), and two threads on one SQLite connection break each other's savepoints
    ("cannot open savepoint - SQL statements in progress"). Answering them in turn is what a
    connection of their own would give; Django's server sends Connection: close without
    threads, so a kept-alive browser connection never holds the next request up.
    """

    def __init__(self, *args, connections_override=None, **kwargs):
        super().__init__(*args, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def live_server_answers_in_turn_on_sqlite():
    if connection.vendor != "sqlite":
        yield
        return
    threaded = LiveServerThread.server_class
    LiveServerThread.server_class = OneRequestAtATimeServer
    yield
    LiveServerThread.server_class = threaded


@pytest.fixture
def launch_browser():
    """Start Chromium when called: after the test has written its data.

    Playwright's sync API runs the test in a greenlet with its own context, where Django would
    open a second database connection that nobody closes; so all ORM work comes first.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    with contextlib.ExitStack() as stack:

        def launch():
            playwright = stack.enter_context(sync_api.sync_playwright())
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
            stack.callback(browser.close)
            return browser

        yield launch


@pytest.fixture
def browser_page(launch_browser, tmp_path):
    """A desktop Chromium page (downloads accepted); on a failure inside the ``with``, a
    screenshot of it is saved."""

    @contextlib.contextmanager
    def open_page():
        browser = launch_browser()
        page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        page.set_default_timeout(WAIT_MS)
        with screenshot_on_failure(page, tmp_path / "failure.png"):
            yield page

    return open_page


# The migrations that write data every install starts with (all idempotent: get_or_create):
# the groups with their permissions, the disclosure labels; in order.
SEED_MIGRATIONS = [
    ("cms", "0002_editors_group"),
    ("sponsors", "0002_sponsorships"),
    ("cms", "0004_partners_group"),
    ("sponsors", "0006_ad_ops_group"),
    ("sponsors", "0009_ad_ops_read_uncounted_and_reads"),
    ("sponsors", "0011_ad_ops_roles"),
    ("cms", "0005_partners_without_model_permissions"),
]


@pytest.fixture
def seeded(transactional_db):
    """The rows the migrations write (groups and their permissions, disclosure labels): a
    transactional test (every live-server test) empties the tables after itself, those rows
    with them. Replays those migrations' own code, so they are exactly what an install has."""
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import RunPython

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    for key in SEED_MIGRATIONS:
        for operation in graph.nodes[key].operations:
            if isinstance(operation, RunPython):
                operation.code(apps, None)
