"""One rule for a campaign's dates, held equal wherever it is written.

``decision.date_state`` is the rule; ``Campaign.state`` asks it, the querysets'
``campaign_*_q`` say it in SQL, and the decision keeps a fast inline copy
(``_Page.static_ok``). On every boundary, to the microsecond, all of them agree.
"""

import datetime as dt

import pytest

from sponsors import decision
from sponsors.decision import PageContext, _Page
from sponsors.models import Campaign, Creative, State
from tests.sponsors.factories_ads import CampaignFactory, CreativeFactory
from tests.sponsors.inventory_oracle import creative_entry

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
END = dt.datetime(2026, 4, 5, 0, 0, tzinfo=dt.UTC)
TICK = dt.timedelta(microseconds=1)
SECOND = dt.timedelta(seconds=1)
BOUNDARIES = [
    START - SECOND,
    START - TICK,
    START,
    START + TICK,
    END - TICK,
    END,
    END + TICK,
    END + SECOND,
]


def states_by_queryset(campaign: Campaign, creative: Creative, at: dt.datetime) -> set[str]:
    found = set()
    for name in ("live", "scheduled", "ended"):
        if getattr(Campaign.objects, name)(at).filter(pk=campaign.pk).exists():
            found.add(f"campaign {name}")
        if getattr(Creative.objects, name)(at).filter(pk=creative.pk).exists():
            found.add(f"creative {name}")
    return found


@pytest.mark.parametrize("open_ended", [False, True], ids=["with an end", "open-ended"])
@pytest.mark.parametrize("at", BOUNDARIES, ids=lambda at: at.isoformat())
def test_every_home_of_the_date_rule_agrees_on_every_boundary(at, open_ended):
    campaign = CampaignFactory(starts_at=START, ends_at=None if open_ended else END)
    creative = CreativeFactory(campaign=campaign)
    ends = None if open_ended else END.timestamp()
    expected = decision.date_state(START.timestamp(), ends, at.timestamp())

    assert campaign.state(at) == State(expected)
    assert creative.state(at) == State(expected)
    assert states_by_queryset(campaign, creative, at) == {
        f"campaign {expected}",
        f"creative {expected}",
    }
    not_ended = expected != decision.ENDED
    assert Campaign.objects.not_ended(at).filter(pk=campaign.pk).exists() is not_ended
    assert Creative.objects.servable(at).filter(pk=creative.pk).exists() is not_ended

    entry = creative_entry(Creative.objects.for_listing().get(pk=creative.pk))
    live = expected == decision.LIVE
    assert (decision.schedule_reason(entry, at.timestamp()) is None) is live
    assert _Page(PageContext(), at, counters=None).static_ok(entry) is live


def test_the_rule_itself_reads_start_inclusive_end_exclusive():
    start, end = START.timestamp(), END.timestamp()
    assert decision.date_state(start, end, start - 1e-6) == decision.SCHEDULED
    assert decision.date_state(start, end, start) == decision.LIVE
    assert decision.date_state(start, end, end) == decision.ENDED
    assert decision.date_state(start, None, end * 10) == decision.LIVE


def test_a_paused_campaign_is_paused_whatever_its_dates():
    campaign = CampaignFactory(starts_at=START, ends_at=END, is_active=False)
    for at in BOUNDARIES:
        assert campaign.state(at) == State.PAUSED
        assert Campaign.objects.paused().filter(pk=campaign.pk).exists()
        assert not Campaign.objects.not_ended(at).filter(pk=campaign.pk).exists()
