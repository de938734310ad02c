import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from cms.api import payloads
from sponsors import trending
from sponsors.inventory_cache import forget_memo
from tests.contract import assert_matches_schema


def _random_order(config) -> str | None:
    """How to replay this run's order, when pytest-randomly shuffled it."""
    if not config.pluginmanager.hasplugin("randomly"):
        return None
    return f"Random order: replay it with --randomly-seed={config.getoption('randomly_seed')}"


# addopts has -q, which hides pytest-randomly's header line: say the seed first and last.
def pytest_sessionstart(session):
    line = _random_order(session.config)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if line and reporter:
        reporter.write_line(line)


def pytest_terminal_summary(terminalreporter, config):
    line = _random_order(config)
    if line:
        terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    """Every test writes uploads to its own empty MEDIA_ROOT."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Real hashers are slow by design; tests only need logins to work.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache (local memory, or the Redis database) and no
    inventory snapshot held in this process from another test."""
    forget_outage()
    cache.clear()
    forget_memo()
    trending.forget_memo()
    payloads.forget_memo()
    yield
    forget_outage()
    cache.clear()
    forget_memo()
    trending.forget_memo()
    payloads.forget_memo()


def forget_outage():
    """No Redis outage remembered: the breaker closed, nothing owed, no local counts."""
    from sponsors import counters, versions

    versions.breaker.reset()
    counters._fallback_store().cache.clear()
    counters._owed_totals.clear()


class ContractAPIClient(APIClient):
    """An API client that checks every /api/v1/ answer against the published OpenAPI schema."""

    def generic(self, method, path, *args, **kwargs):
        response = super().generic(method, path, *args, **kwargs)
        plain_path = path.split("?")[0]
        if plain_path.startswith("/api/v1/"):
            assert_matches_schema(method, plain_path, response)
        return response


@pytest.fixture
def api_client():
    return ContractAPIClient()


def media_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def redis_down():
    """``with redis_down():`` Redis stops answering (a refused connection), for the counters
    and the cache versions alike; it answers again after the block (the breaker, open then,
    tries it again once its period is over: ``redis_back()``)."""
    import contextlib

    import redis

    from sponsors import counters, versions

    @contextlib.contextmanager
    def down():
        dead = counters.RedisCounters()
        dead.client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(counters, "_redis_store", lambda: dead)
            patch.setattr(versions, "_redis_client", lambda: dead.client)
            patch.setattr(versions, "_probe_client", lambda: dead.client)
            yield

    return down


def redis_back():
    """End the breaker's period now: the next Redis use probes it (and catches up)."""
    import time

    from sponsors import versions

    if versions.breaker.open_until:
        versions.breaker.open_until = time.monotonic() - 1
