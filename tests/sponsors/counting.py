"""What the database counted, as tests read it (after a flush when Redis buffers events)."""

from collections import Counter

from django.db.models import Sum

from sponsors.counters import get_counters
from sponsors.models import ArticleReadCounter, DeliveryCounter, UncountedCounter


def flushed() -> None:
    get_counters().flush(recover_after=0)


def apart() -> Counter:
    """Events counted apart: (event, reason) -> n."""
    flushed()
    rows = UncountedCounter.objects.values("event", "reason").annotate(n=Sum("count"))
    return Counter({(row["event"], row["reason"]): row["n"] for row in rows.order_by()})


def totals() -> dict:
    """Billable impressions and clicks, and the bots counted apart."""
    reasons = apart()  # flushes first
    sums = DeliveryCounter.objects.aggregate(impressions=Sum("impressions"), clicks=Sum("clicks"))
    return {
        "impressions": sums["impressions"] or 0,
        "clicks": sums["clicks"] or 0,
        "bot_impressions": reasons[("impression", "bot")],
        "bot_clicks": reasons[("click", "bot")],
    }


def reads() -> int:
    flushed()
    return ArticleReadCounter.objects.aggregate(n=Sum("reads"))["n"] or 0
