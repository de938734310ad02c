"""Ad-ops operations on the inventory, shared by the admin, the API and commands.

Bulk updates bypass ``save()``, so these services bump the inventory version themselves and
write the audit history's rows (``cms.history``) themselves; everything else goes through the
models, whose ``save()``/``delete()`` bump it and whose signals record the history.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from cms import history
from cms.models import Topic
from sponsors import versions
from sponsors.models import Campaign, Creative, Slot
from sponsors.models.inventory import slot_misfits


@transaction.atomic
def inventory_set_active(*, rows: QuerySet[Campaign] | QuerySet[Creative], active: bool) -> int:
    """Pause (``active=False``) or resume campaigns or creatives; return how many changed.

    The one pause/resume of the admin actions and the staff API. Rows already in that state
    are left alone, and the version is bumped only if a row changed. Each changed row gets
    its history row (who: the request's user or the audit context's), in one bulk write.
    """
    model = rows.model
    # Locked, so a concurrent pause of the same rows changes (and records) each row once.
    changing: list[Campaign | Creative] = list(
        model._default_manager.filter(pk__in=rows.values("pk"))
        .exclude(is_active=active)
        .select_for_update()
        .order_by("pk")
    )
    now = timezone.now()
    for row in changing:
        row.is_active = active
        row.updated_at = now
    changed = history.bulk_update_with_history(
        changing, model, ["is_active", "updated_at"], reason="resumed" if active else "paused"
    )
    if changed:
        versions.bump(versions.INVENTORY)
    return changed


def check_creative_slots(
    *, kind: str, width: int | None, height: int | None, slots: list[Slot]
) -> None:
    """Raise ValidationError({"slots": …}) unless the creative can show in every slot."""
    reasons = slot_misfits(kind=kind, width=width, height=height, slots=slots)
    if reasons:
        raise ValidationError(
            {"slots": [reason[:1].upper() + reason[1:] + "." for reason in reasons]}
        )


def check_slot_keeps_creatives(*, slot: Slot, creatives: list[Creative]) -> None:
    """Raise ValidationError if a change of the slot's size or kinds strands its creatives."""
    stranded = [
        f"{creative.name}: {reason}"
        for creative in creatives
        if (
            reason := slot.misfit_reason(creative.kind, creative.image_width, creative.image_height)
        )
    ]
    if stranded:
        raise ValidationError(
            "These creatives assigned to the slot would no longer fit: " + "; ".join(stranded),
            code="slot_strands_creatives",
        )


@transaction.atomic
def creative_save(
    *,
    creative: Creative,
    slots: list[Slot] | None = None,
    include_topics: list[Topic] | None = None,
    exclude_topics: list[Topic] | None = None,
) -> Creative:
    """Validate and save a creative with its slots and targeting in one transaction."""
    creative.full_clean()
    if slots is not None:
        check_creative_slots(
            kind=creative.kind,
            width=creative.image_width,
            height=creative.image_height,
            slots=slots,
        )
    with history.one_record(creative):  # the save and its relations: one history row
        creative.save()
        if slots is not None:
            creative.slots.set(slots)
        if include_topics is not None:
            creative.include_topics.set(include_topics)
        if exclude_topics is not None:
            creative.exclude_topics.set(exclude_topics)
    versions.bump(versions.INVENTORY)  # the relations above changed after save() announced it
    return creative


@transaction.atomic
def campaign_duplicate(
    *, campaign: Campaign, name: str | None = None, starts_at: datetime | None = None
) -> Campaign:
    """Copy a campaign and its creatives (images, slots, targeting); the copy starts paused.

    Dates shift together when ``starts_at`` is given. Images are copied to new files, so
    editing the copy never touches the original's files.
    """
    shift = (starts_at - campaign.starts_at) if starts_at else None
    copy = Campaign.objects.get(pk=campaign.pk)
    copy.pk = None
    copy._state.adding = True
    copy.name = name or f"Copy of {campaign.name}"[:160]
    copy.is_active = False
    if shift is not None:
        copy.starts_at = campaign.starts_at + shift
        try:
            copy.ends_at = campaign.ends_at + shift if campaign.ends_at else None
        except OverflowError:
            raise ValidationError(
                {"starts_at": ["Too late: the copy would end past the year 9999."]}
            ) from None
    # The copy is a campaign like any other: the same rules as the admin's and the API's.
    copy.full_clean()
    copy._change_reason = f"duplicated from campaign {campaign.pk}"  # type: ignore[attr-defined]  # simple-history's
    copy.save()
    originals = campaign.creatives.prefetch_related("slots", "include_topics", "exclude_topics")
    for original in originals:
        creative = Creative.objects.get(pk=original.pk)
        creative.pk = None
        creative._state.adding = True
        creative.campaign = copy
        creative.image_renditions = {}
        if original.image:
            with original.image.open("rb") as fh:
                data = fh.read()
            name = original.image.name.rsplit("/", 1)[-1]  # type: ignore[union-attr]  # a set file has a name
            creative.image = ContentFile(data, name=name)
        with history.one_record(creative, reason=f"duplicated from creative {original.pk}"):
            creative.save()
            creative.slots.set(original.slots.all())
            creative.include_topics.set(original.include_topics.all())
            creative.exclude_topics.set(original.exclude_topics.all())
    versions.bump(versions.INVENTORY)
    return copy
