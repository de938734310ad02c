"""Give every audited object that has no history row yet one row with its current state."""

from django.core.management.base import BaseCommand
from django.db import transaction

from cms import history

REASON = "baseline: the state when the audit history started"


class Command(BaseCommand):
    help = (
        "Record the current state of every audited object (articles, sponsors, sponsorships, "
        "slots, campaigns, creatives, countdowns, deadline phases) that has no history yet, so "
        "its first change shows old and new values. Safe to run again: objects with history "
        "are skipped."
    )

    def handle(self, *args, **options):
        with history.audit_context(reason=REASON):
            for model, _ in sorted(
                history.AuditedHistory.registry.items(), key=lambda item: item[0]._meta.label
            ):
                recorded = history.history_model(model)._default_manager.values("id")
                missing = model._default_manager.exclude(pk__in=recorded).order_by("pk")
                done = 0
                with transaction.atomic():
                    for obj in missing.iterator(chunk_size=500):
                        history.record(obj)
                        done += 1
                self.stdout.write(f"{model._meta.label}: {done} recorded")
