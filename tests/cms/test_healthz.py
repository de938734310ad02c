"""/healthz: 200 when the database, the cache and the counters are well, 503 saying which
part is not."""

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError

from sponsors.counters import get_counters, uses_redis
from tests.sponsors.test_dashboard import send_impressions

needs_redis = pytest.mark.skipif(not uses_redis(), reason="needs Redis (set REDIS_URL)")


def test_all_well_is_a_200_naming_each_part(db, client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert (body["status"], body["database"], body["cache"]) == ("ok", "ok", "ok")
    assert body["counters"]["status"] == "ok"
    assert body["counters"]["mode"] == ("redis" if uses_redis() else "database")
    assert client.head("/healthz").status_code == 200


def test_a_database_that_does_not_answer_is_a_503(db, client, monkeypatch):
    def gone(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:  # undone before the test database is torn down
        patch.setattr("cms.api.health.connection.cursor", gone)
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    body = response.json()
    assert (body["status"], body["database"], body["counters"]) == (
        "unavailable",
        "unavailable",
        {"status": "unknown"},
    )


def test_other_methods_are_a_405_in_the_error_format(db, client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["code"] == "method_not_allowed"


@needs_redis
def test_counts_waiting_past_the_limit_make_it_503_until_a_flush(db, client, settings):
    settings.ADS_FLUSH_STALE_AFTER = 60
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC), tick=False) as clock:
        send_impressions(2)
        stale = client.get("/healthz")
        assert stale.status_code == 503
        assert stale.json()["counters"]["status"] == "stale"
        assert stale.json()["counters"]["pending"] == 2

        get_counters().flush()
        fresh = client.get("/healthz").json()["counters"]
        assert (fresh["status"], fresh["pending"], fresh["last_flush_age_seconds"]) == ("ok", 0, 0)

        clock.shift(dt.timedelta(minutes=5))
        send_impressions(1, prefix="later")
        late = client.get("/healthz")
        assert late.status_code == 503
        assert late.json()["counters"]["last_flush_age_seconds"] == 300
