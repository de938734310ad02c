"""Countdown services: the state at an instant, extensions, time-zone entry, caching.

``countdown_state`` is a pure function of a ``CountdownSnapshot`` (plain, picklable data) and
``now``: the API, the ad decision and tests all call it, from the database or from a cache,
and it never queries. Rolling to the next phase and closing happen because ``now`` moved, so
no job runs at a deadline.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from sponsors import versions
from sponsors.models.countdowns import (
    Countdown,
    DeadlineExtension,
    DeadlinePhase,
    extended_label_for,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

UTC = dt.UTC

# Cache-Control max-age of an open countdown, also bounded by the time left in its phase.
OPEN_MAX_AGE = 60
# A closed countdown changes only if staff reopen it by extending its last phase.
CLOSED_MAX_AGE = 300
# Server-side snapshot cache; every write through the models replaces the version token.
SNAPSHOT_TIMEOUT = 300
# No countdown's slug is longer (nor is the cache key of one that could be).
SLUG_MAX_LENGTH: int = Countdown._meta.get_field("slug").max_length or 255

Occurrence = Literal["first", "second"]


# --- Snapshots and state --------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseSnapshot:
    label: str
    display_label: str
    deadline: dt.datetime  # aware, UTC
    original_deadline: dt.datetime  # aware, UTC
    extended: bool


@dataclass(frozen=True)
class CountdownSnapshot:
    """What ``countdown_state`` needs, detached from the database (safe to cache and pickle)."""

    id: int
    slug: str
    title: str
    time_zone: str
    closed_message: str
    closed_link_url: str
    closed_link_label: str
    phases: tuple[PhaseSnapshot, ...]  # ordered by deadline

    @property
    def closes_at(self) -> dt.datetime | None:
        """The moment the countdown closes (its last deadline), or None without phases."""
        return self.phases[-1].deadline if self.phases else None


@dataclass(frozen=True)
class PhaseState:
    label: str
    deadline: dt.datetime  # aware, in the countdown's zone
    original_deadline: dt.datetime  # aware, in the countdown's zone
    extended: bool
    passed: bool
    current: bool


@dataclass(frozen=True)
class ClosedLink:
    url: str
    label: str


@dataclass(frozen=True)
class CountdownState:
    """A countdown as seen at ``server_time``: what the API returns and the ad decision reads."""

    slug: str
    title: str
    time_zone: str
    state: Literal["open", "closed"]
    label: str | None
    deadline: dt.datetime | None
    original_deadline: dt.datetime | None
    extended: bool
    seconds_remaining: int
    server_time: dt.datetime  # aware, UTC
    closes_at: dt.datetime | None
    closed_message: str
    closed_link: ClosedLink | None
    phases: tuple[PhaseState, ...]

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def is_closed(self) -> bool:
        return self.state == "closed"


class _CommonState(TypedDict):
    """The fields of a ``CountdownState`` that an open and a closed countdown share."""

    slug: str
    title: str
    time_zone: str
    server_time: dt.datetime
    closes_at: dt.datetime | None
    closed_message: str
    closed_link: ClosedLink | None
    phases: tuple[PhaseState, ...]


def countdown_snapshot(countdown: Countdown) -> CountdownSnapshot:
    """Detach a countdown and its phases (prefetched ones are used: no extra query then)."""
    phases = sorted(countdown.phases.all(), key=lambda p: (p.deadline, p.pk or 0))
    return CountdownSnapshot(
        id=countdown.pk,
        slug=countdown.slug,
        title=countdown.title,
        time_zone=countdown.time_zone,
        closed_message=countdown.closed_message,
        closed_link_url=countdown.closed_link_url,
        closed_link_label=countdown.closed_link_label,
        phases=tuple(
            PhaseSnapshot(
                label=p.label,
                display_label=p.display_label,
                deadline=p.deadline.astimezone(UTC),
                original_deadline=p.original_deadline.astimezone(UTC),
                extended=p.extended,
            )
            for p in phases
        ),
    )


def countdown_state(countdown: CountdownSnapshot, *, now: dt.datetime) -> CountdownState:
    """The countdown at ``now``: the first phase whose deadline is still ahead, else closed.

    A phase is current while ``now < deadline``; at its deadline exactly it has passed.
    ``seconds_remaining`` is rounded up, so an open countdown never shows zero. Pure: no query,
    no clock read; datetimes come back in the countdown's zone (``server_time`` in UTC).
    """
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    zone = ZoneInfo(countdown.time_zone)
    current_index = next(
        (i for i, phase in enumerate(countdown.phases) if now < phase.deadline), None
    )
    phases = tuple(
        PhaseState(
            label=phase.display_label,
            deadline=phase.deadline.astimezone(zone),
            original_deadline=phase.original_deadline.astimezone(zone),
            extended=phase.extended,
            passed=now >= phase.deadline,
            current=i == current_index,
        )
        for i, phase in enumerate(countdown.phases)
    )
    closes_at = countdown.closes_at.astimezone(zone) if countdown.closes_at else None
    link = (
        ClosedLink(url=countdown.closed_link_url, label=countdown.closed_link_label)
        if countdown.closed_link_url
        else None
    )
    common: _CommonState = {
        "slug": countdown.slug,
        "title": countdown.title,
        "time_zone": countdown.time_zone,
        "server_time": now.astimezone(UTC),
        "closes_at": closes_at,
        "closed_message": countdown.closed_message,
        "closed_link": link,
        "phases": phases,
    }
    if current_index is None:
        return CountdownState(
            state="closed",
            label=None,
            deadline=None,
            original_deadline=None,
            extended=False,
            seconds_remaining=0,
            **common,
        )
    phase = phases[current_index]
    return CountdownState(
        state="open",
        label=phase.label,
        deadline=phase.deadline,
        original_deadline=phase.original_deadline,
        extended=phase.extended,
        seconds_remaining=math.ceil((phase.deadline - now).total_seconds()),
        **common,
    )


def countdown_max_age(state: CountdownState) -> int:
    """Seconds a response showing ``state`` may be cached; 0 means "do not store".

    Never past the current phase's end, so no cache keeps serving a phase that has ended: the
    whole seconds left (rounded down), at most ``OPEN_MAX_AGE``. Closed: ``CLOSED_MAX_AGE``.
    """
    if state.is_closed or state.deadline is None:
        return CLOSED_MAX_AGE
    left = (state.deadline - state.server_time).total_seconds()
    return max(0, min(OPEN_MAX_AGE, math.floor(left)))


# --- Cached snapshots -----------------------------------------------------------------------


def _snapshot_key(slug: str, version: str) -> str:
    return f"countdown:snapshot:{slug}:{version}"


def countdown_snapshot_for_slug(slug: str) -> CountdownSnapshot | None:
    """The snapshot of the countdown with ``slug`` (None if there is none), cached.

    Cached under a version token (``versions.countdown(slug)``) that every save and delete
    of the countdown or its phases replaces, so an extension is served on the next request.
    The token is read before the database, so a reader that raced a writer stores old data
    only under a token nobody reads any more; a token is created only for a countdown that
    exists (unknown slugs leave nothing behind). Warm: two cache reads, no query; cold: two
    queries. With Redis down it answers from the database (two queries), caching nothing.
    """
    if len(slug) > SLUG_MAX_LENGTH:  # no countdown has it: no cache key of that length
        return None
    name = versions.countdown(slug)
    version = versions.read(name)  # None too while Redis is down: then from the database
    if version is not None:
        try:
            snapshot: CountdownSnapshot | None = cache.get(_snapshot_key(slug, version))
        except versions.REDIS_DOWN as exc:
            versions.breaker.trip(exc)
            version, snapshot = None, None
        if snapshot is not None:
            return snapshot
    countdown = (
        Countdown.objects.filter(slug=slug)
        .prefetch_related(
            Prefetch("phases", queryset=DeadlinePhase.objects.order_by("deadline", "pk"))
        )
        .first()
    )
    if countdown is None:
        return None
    snapshot = countdown_snapshot(countdown)
    if version is None:
        # If a writer set a token meanwhile, what we read may be old: do not cache it.
        version = versions.create_if_missing(name, timeout=versions.COUNTDOWN_TIMEOUT)
        if version is None:
            return snapshot
    try:
        cache.set(_snapshot_key(slug, version), snapshot, SNAPSHOT_TIMEOUT)
    except versions.REDIS_DOWN as exc:  # served uncached
        versions.breaker.trip(exc)
    return snapshot


# --- Time zones -----------------------------------------------------------------------------


def format_local(moment: dt.datetime, zone: str | ZoneInfo) -> str:
    """``moment`` as staff read it in ``zone``: "26 Oct 2025 01:30:00 BST (UTC+01:00)"."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = moment.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%d %b %Y %H:%M:%S} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def _transition(earlier: dt.datetime, later: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """The first UTC instant in [earlier, later] with ``later``'s offset (binary search)."""
    target = later.astimezone(zone).utcoffset()
    low, high = earlier, later
    while (high - low) > dt.timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def zoned_datetime(
    local: dt.datetime, *, zone: str | ZoneInfo, occurrence: Occurrence | None = None
) -> dt.datetime:
    """Read a wall-clock time entered in ``zone``; return the aware UTC instant.

    - A time in a spring-forward gap does not exist: ``ValidationError`` (code
      ``nonexistent_time``) saying which times do.
    - A time in an autumn fold happens twice: ``occurrence`` ("first" = before the clocks go
      back, "second" = after) chooses; without it, ``ValidationError`` (``ambiguous_time``).
    An aware ``local`` is taken as it is.
    """
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    if timezone.is_aware(local):
        return local.astimezone(UTC)
    first = local.replace(tzinfo=zone, fold=0)
    second = local.replace(tzinfo=zone, fold=1)
    when = f"{local:%d %b %Y %H:%M:%S}"
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local:
        # In a gap, fold=0 reads the time with the offset before the change, fold=1 after.
        before_offset, after_offset = first.utcoffset(), second.utcoffset()
        assert before_offset is not None and after_offset is not None  # a ZoneInfo's always are
        change = _transition(
            min(first.astimezone(UTC), second.astimezone(UTC)),
            max(first.astimezone(UTC), second.astimezone(UTC)),
            zone,
        )
        gap_start = (change + before_offset).replace(tzinfo=None)
        gap_end = (change + after_offset).replace(tzinfo=None)
        raise ValidationError(
            "%(when)s does not exist in %(zone)s: that night the clocks go forward from "
            "%(start)s %(before)s to %(end)s %(after)s. Choose a time before %(start)s or from "
            "%(end)s.",
            code="nonexistent_time",
            params={
                "when": when,
                "zone": zone.key,
                "start": f"{gap_start:%H:%M}",
                "end": f"{gap_end:%H:%M}",
                "before": first.tzname() or "",
                "after": second.tzname() or "",
            },
        )
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    if occurrence not in ("first", "second"):
        raise ValidationError(
            "%(when)s happens twice in %(zone)s, because the clocks go back that night: "
            "choose the first occurrence (%(first)s) or the second (%(second)s).",
            code="ambiguous_time",
            params={
                "when": when,
                "zone": zone.key,
                "first": f"{first.tzname()}, UTC{_offset(first)}",
                "second": f"{second.tzname()}, UTC{_offset(second)}",
            },
        )
    return (first if occurrence == "first" else second).astimezone(UTC)


def _offset(moment: dt.datetime) -> str:
    raw = moment.strftime("%z")
    return f"{raw[:3]}:{raw[3:]}"


def local_parts(moment: dt.datetime, *, zone: str | ZoneInfo) -> tuple[dt.datetime, str]:
    """The naive wall-clock time of ``moment`` in ``zone`` and, if that wall time happens
    twice, which occurrence it is ("first"/"second"; "" otherwise): a form's initial values."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    local = moment.astimezone(zone)
    naive = local.replace(tzinfo=None, fold=0)
    if (
        naive.replace(tzinfo=zone, fold=0).utcoffset()
        == naive.replace(tzinfo=zone, fold=1).utcoffset()
    ):
        return naive, ""
    return naive, "second" if local.fold else "first"


def deadline_in_zone(
    local: dt.datetime, *, zone: str | ZoneInfo, occurrence: Occurrence | None, field: str
) -> dt.datetime:
    """``zoned_datetime`` for staff input: the UTC instant of ``local`` read in ``zone``.

    Its error is keyed by the field staff fix: ``occurrence`` for a time that happens twice
    (they choose which), ``field`` (the time's own field) for one that does not exist.
    The admin's forms and the staff API read every deadline through this.
    """
    try:
        return zoned_datetime(local, zone=zone, occurrence=occurrence)
    except ValidationError as error:
        raise ValidationError(
            {"occurrence" if error.code == "ambiguous_time" else field: [error]}
        ) from None


# --- Phases ---------------------------------------------------------------------------------


def phase_deadline_errors(
    phases: Sequence[tuple[str, dt.datetime]],
    *,
    listed_in_order: bool = False,
    zone: str | ZoneInfo = "UTC",
) -> dict[int, ValidationError]:
    """The errors of a countdown's phases taken together, by position in ``phases``.

    ``phases`` are (label, deadline) pairs. Two phases never share a deadline (to the second:
    each phase needs its own moment). With ``listed_in_order`` (the staff API, whose list
    order is the phases' order), each deadline must also come after the one listed before it.
    ``zone`` is the one messages show times in.
    """
    errors: dict[int, ValidationError] = {}
    seen: dict[dt.datetime, str] = {}
    previous: tuple[str, dt.datetime] | None = None
    for index, (label, raw) in enumerate(phases):
        deadline = raw.replace(microsecond=0)
        if deadline in seen:
            errors[index] = ValidationError(
                "“%(a)s” and “%(b)s” have the same deadline; each phase needs its own time.",
                code="duplicate_deadline",
                params={"a": seen[deadline], "b": label},
            )
        elif listed_in_order and previous is not None and deadline < previous[1]:
            errors[index] = ValidationError(
                "Phases are listed in time order: “%(label)s” must end after “%(before)s” "
                "(%(when)s), which is listed before it.",
                code="phase_order",
                params={
                    "label": label,
                    "before": previous[0],
                    "when": format_local(previous[1], zone),
                },
            )
        seen.setdefault(deadline, label)
        previous = (label, deadline)
    return errors


@dataclass(frozen=True)
class PhaseInput:
    """One phase as staff send it: an existing phase (``id``) or a new one (no ``id``).

    ``deadline`` naive is a wall-clock time in the countdown's zone (``occurrence`` chooses in
    an autumn fold), aware is taken as it is. ``None`` fields of an existing phase keep its
    value; a new phase needs a label and a deadline.
    """

    id: int | None = None
    label: str | None = None
    extended_label: str | None = None
    deadline: dt.datetime | None = None
    occurrence: Occurrence | None = None


ErrorDict = dict[str, list[ValidationError]]


def _read_phase(
    countdown: Countdown,
    item: PhaseInput,
    existing: dict[int, DeadlinePhase],
    kept: list[DeadlinePhase],
    add: Callable[[str, ValidationError], None],
) -> DeadlinePhase | None:
    """The phase ``item`` describes, changed as it asks (not saved), or None if unknown."""
    deadline = None
    if item.deadline is not None:
        try:
            deadline = deadline_in_zone(
                item.deadline, zone=countdown.zone, occurrence=item.occurrence, field="deadline"
            )
        except ValidationError as error:
            for field, field_errors in error.error_dict.items():
                for field_error in field_errors:
                    add(field, field_error)
    if item.id is None:
        phase = DeadlinePhase(countdown=countdown)
        if item.deadline is None:
            add("deadline", ValidationError("A new phase needs a deadline.", code="required"))
        elif deadline is not None:
            phase.deadline = deadline
    else:
        stored = existing.get(item.id)
        if stored is None or any(p is stored for p in kept):
            message = "No phase %(id)s in this countdown (or it is listed twice)."
            add("id", ValidationError(message, code="unknown_phase", params={"id": item.id}))
            return None
        phase = stored
        if deadline is not None and deadline.replace(microsecond=0) != phase.deadline:
            message = (
                "“%(label)s” ends %(when)s: a saved deadline moves only by an extension (the "
                "extend action), which keeps the history."
            )
            params = {
                "label": phase.display_label,
                "when": format_local(phase.deadline, countdown.zone),
            }
            add("deadline", ValidationError(message, code="deadline_fixed", params=params))
    if item.label is not None:
        phase.label = item.label
    if item.extended_label is not None:
        phase.extended_label = item.extended_label
    # The phase's own field rules (the countdown, the deadline and its history are checked here).
    try:
        phase.full_clean(
            exclude=["countdown", "deadline", "original_deadline"], validate_constraints=False
        )
    except ValidationError as error:
        for field, field_errors in error.error_dict.items():
            for field_error in field_errors:
                add(field, field_error)
    return phase


def _phase_errors(
    countdown: Countdown, phases: Sequence[PhaseInput], existing: dict[int, DeadlinePhase]
) -> tuple[ErrorDict, list[DeadlinePhase]]:
    """Check ``phases`` against the stored ones; return the errors and the phases to keep."""
    errors: ErrorDict = {}
    kept: list[DeadlinePhase] = []
    timed: list[tuple[int, str, dt.datetime]] = []
    for index, item in enumerate(phases):

        def add(field: str, error: ValidationError, index: int = index) -> None:
            errors.setdefault(f"phases.{index}.{field}", []).append(error)

        phase = _read_phase(countdown, item, existing, kept, add)
        if phase is None:
            continue
        kept.append(phase)
        if phase.deadline is not None:
            timed.append((index, phase.label, phase.deadline))
    clashes = phase_deadline_errors(
        [(label, when) for _, label, when in timed], listed_in_order=True, zone=countdown.zone
    )
    for position, error in clashes.items():
        errors.setdefault(f"phases.{timed[position][0]}.deadline", []).append(error)
    if not phases:
        message = "A countdown needs at least one phase: without one it is closed from the start."
        errors.setdefault("phases", []).append(ValidationError(message, code="no_phases"))
    return errors, kept


@transaction.atomic
def countdown_save(
    *, countdown: Countdown, phases: Sequence[PhaseInput] | None = None
) -> Countdown:
    """Validate and save ``countdown`` and, if ``phases`` is given, its whole list of phases.

    The rules of the admin's countdown page: the countdown's own validation; deadlines read in
    the countdown's zone (``deadline_in_zone``; a zone changed in the same save applies);
    never two phases at one deadline (``phase_deadline_errors``), and here, where phases come
    as a list, listed in time order; at least one phase; a saved deadline stays as it is
    (``countdown_extend`` moves it, with history) while its labels may change; phases left
    out of the list are removed, unless they have extension history (kept for good).
    Otherwise ``ValidationError`` keyed by field (``"time_zone"``, ``"phases"``,
    ``"phases.1.deadline"``), and nothing is saved.
    """
    errors: ErrorDict = {}
    try:
        countdown.full_clean()
    except ValidationError as error:
        errors.update(error.error_dict)
    existing: dict[int, DeadlinePhase] = {}
    kept: list[DeadlinePhase] = []
    removed: list[int] = []
    if phases is not None and "time_zone" not in errors:
        if countdown.pk is not None:
            # Lock the countdown: an extension (which locks it too) is checked before or after.
            Countdown.objects.select_for_update().filter(pk=countdown.pk).first()
            existing = {p.pk: p for p in DeadlinePhase.objects.filter(countdown_id=countdown.pk)}
        phase_errors, kept = _phase_errors(countdown, phases, existing)
        errors.update(phase_errors)
        removed = [pk for pk in existing if not any(p.pk == pk for p in kept)]
        with_history = DeadlineExtension.objects.filter(phase_id__in=removed).values_list(
            "phase_id", flat=True
        )
        for pk in dict.fromkeys(with_history):
            message = (
                "“%(label)s” has extension history, which is kept for good: it cannot be "
                "removed, so keep it in the list."
            )
            params = {"label": existing[pk].display_label}
            errors.setdefault("phases", []).append(
                ValidationError(message, code="phase_has_history", params=params)
            )
    if errors:
        raise ValidationError(errors)
    countdown.save()
    for pk in removed:
        existing[pk].delete()
    for phase in kept:
        phase.countdown = countdown
        phase.save()
    return countdown


# --- Extensions -----------------------------------------------------------------------------


def _extension_errors(
    *,
    phase: DeadlinePhase,
    previous: DeadlinePhase | None,
    following: DeadlinePhase | None,
    new_deadline: dt.datetime,
    reason: str,
    now: dt.datetime,
    zone: ZoneInfo,
) -> dict[str, list[ValidationError]]:
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message: str, code: str, **params: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code, params=params))

    if not reason.strip():
        add("reason", "Say why the deadline moves; the reason is kept in the history.", "required")
    if new_deadline == phase.deadline:
        add(
            "new_deadline",
            "%(when)s is already the deadline of “%(phase)s”.",
            "unchanged",
            when=format_local(new_deadline, zone),
            phase=phase.display_label,
        )
    elif new_deadline <= now:
        add(
            "new_deadline",
            "%(when)s is in the past (it is now %(now)s): a deadline can only move to a time "
            "still ahead.",
            "in_past",
            when=format_local(new_deadline, zone),
            now=format_local(now, zone),
        )
    if previous is not None and new_deadline <= previous.deadline:
        add(
            "new_deadline",
            "The new time must be after the previous phase “%(phase)s” (%(when)s): phases keep "
            "their order.",
            "before_previous",
            phase=previous.display_label,
            when=format_local(previous.deadline, zone),
        )
    if following is not None and new_deadline >= following.deadline:
        add(
            "new_deadline",
            "The new time must be before the next phase “%(phase)s” (%(when)s): phases keep "
            "their order, so extend that phase first.",
            "after_next",
            phase=following.display_label,
            when=format_local(following.deadline, zone),
        )
    return errors


@transaction.atomic
def countdown_extend(
    *,
    phase: DeadlinePhase,
    new_deadline: dt.datetime,
    reason: str,
    by: User | None = None,
    extended_label: str | None = None,
    now: dt.datetime | None = None,
) -> DeadlineExtension:
    """Move ``phase``'s deadline to ``new_deadline`` and record it in the history.

    Rules (``ValidationError`` with field errors otherwise): a reason is given; the new time
    is still ahead of ``now``; it differs from the current deadline; it stays after the
    previous phase's deadline and before the next one's (phases never swap: to go past the
    next phase, extend that one first). A phase that has passed may be reopened this way.
    The deadline is kept to the second. ``extended_label`` (if given) replaces the label shown
    while extended; blank restores the automatic "Extended <label>".
    Returns the new, immutable ``DeadlineExtension`` row.
    """
    if timezone.is_naive(new_deadline):
        raise ValueError("new_deadline must be aware: read staff input with zoned_datetime()")
    now = now or timezone.now()
    new_deadline = new_deadline.astimezone(UTC).replace(microsecond=0)
    # Lock the countdown so two extensions of its phases are checked one after the other.
    countdown = Countdown.objects.select_for_update().get(pk=phase.countdown_id)
    phases = list(countdown.phases.order_by("deadline", "pk"))
    index = next(i for i, p in enumerate(phases) if p.pk == phase.pk)
    current = phases[index]
    errors = _extension_errors(
        phase=current,
        previous=phases[index - 1] if index > 0 else None,
        following=phases[index + 1] if index + 1 < len(phases) else None,
        new_deadline=new_deadline,
        reason=reason,
        now=now,
        zone=countdown.zone,
    )
    if errors:
        raise ValidationError(errors)
    extension = DeadlineExtension.objects.create(
        countdown=countdown,
        phase=current,
        phase_label=current.label,
        old_deadline=current.deadline,
        new_deadline=new_deadline,
        reason=reason.strip(),
        changed_by=by,
        changed_by_name=by.get_username() if by is not None else "system",
        created_at=now,
    )
    current.deadline = new_deadline
    fields = ["deadline"]
    if extended_label is not None:
        current.extended_label = extended_label.strip()
        fields.append("extended_label")
    # The phase's history row names who extended it and why (the extension row says it too).
    if by is not None:
        current._history_user = by  # type: ignore[attr-defined]  # simple-history's
    current._change_reason = f"extended: {reason.strip()}"  # type: ignore[attr-defined]
    current.save(update_fields=fields)
    # Only its updated_at changes: the phase's row is the history of this.
    countdown.skip_history_when_saving = True  # type: ignore[attr-defined]  # simple-history's
    try:
        countdown.save(update_fields=["updated_at"])
    finally:
        del countdown.skip_history_when_saving  # type: ignore[attr-defined]
    phase.refresh_from_db()
    return extension


__all__ = [
    "CLOSED_MAX_AGE",
    "OPEN_MAX_AGE",
    "ClosedLink",
    "CountdownSnapshot",
    "CountdownState",
    "PhaseInput",
    "PhaseSnapshot",
    "PhaseState",
    "countdown_extend",
    "countdown_max_age",
    "countdown_save",
    "countdown_snapshot",
    "countdown_snapshot_for_slug",
    "countdown_state",
    "deadline_in_zone",
    "extended_label_for",
    "format_local",
    "local_parts",
    "phase_deadline_errors",
    "zoned_datetime",
]
