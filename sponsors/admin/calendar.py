"""The calendar of changes in the admin (``admin:sponsors_calendar``) and each staff member's
calendar feed (its secret address: create, rotate, revoke).

Both show to any staff member who may see at least one kind of change; each person sees the
changes their permissions on articles, sponsorships, campaigns and countdowns allow
(``sponsors.calendar``). Days are the display time zone's (``TIME_ZONE``).
"""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
from itertools import groupby
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from sponsors.calendar import (
    FEED_AHEAD,
    FEED_PAST,
    CalendarFilters,
    Kind,
    calendar_events,
    calendar_feed_create,
    calendar_feed_of,
    calendar_feed_revoke,
    calendar_feed_rotate,
    may_view,
    visible_kinds,
)
from sponsors.models import Calendar, CalendarFeed, Sponsor
from sponsors.reports import display_zone, local_range

WEEKS = [(1, "1 week"), (2, "2 weeks"), (4, "4 weeks"), (8, "8 weeks"), (13, "13 weeks")]
DEFAULT_WEEKS = 4
FIRST_YEAR, LAST_YEAR = 2000, 2099


def _staff(request: HttpRequest) -> User:
    # admin_view has let only an active staff member through.
    return cast(User, request.user)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), or the month's last day if it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = stdlib_calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


class CalendarForm(forms.Form):
    start = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Empty: today.",
    )
    weeks = forms.TypedChoiceField(
        label="For", choices=WEEKS, coerce=int, required=False, empty_value=None
    )
    kind = forms.MultipleChoiceField(
        label="Changes",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind you may see.",
    )
    sponsor = forms.ModelChoiceField(
        queryset=Sponsor.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="Every sponsor",
    )

    def __init__(self, *args: Any, kinds: frozenset[str], sponsors: bool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")  # "From", not "From:": labels sit above fields
        super().__init__(*args, **kwargs)
        kind_field = cast(forms.MultipleChoiceField, self.fields["kind"])
        kind_field.choices = [(kind, Kind(kind).label) for kind in Kind.values if kind in kinds]
        if sponsors:
            sponsor_field = cast(forms.ModelChoiceField, self.fields["sponsor"])
            sponsor_field.queryset = Sponsor.objects.order_by("name")
        else:  # who may not see sponsors does not choose among them
            del self.fields["sponsor"]

    def clean_start(self) -> dt.date | None:
        start = self.cleaned_data["start"]
        if start is not None and not FIRST_YEAR <= start.year <= LAST_YEAR:
            raise forms.ValidationError(
                f"Choose a date from {FIRST_YEAR} to {LAST_YEAR}.", code="start_out_of_range"
            )
        return start


def clock_change(day: dt.date, zone: Any) -> str:
    """What the clocks do on ``day`` in ``zone`` ("Clocks go back: a 25-hour day"), or ""."""
    first, after = local_range(day, day, zone)
    hours = (after.astimezone(dt.UTC) - first.astimezone(dt.UTC)) / dt.timedelta(hours=1)
    if hours == 24:
        return ""
    direction = "forward" if hours < 24 else "back"
    return f"Clocks go {direction}: a {hours:g}-hour day"


class CalendarAdmin(admin.ModelAdmin):
    """The calendar page, as the admin's "Calendar" entry (a proxy model with no rows)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(visible_kinds(_staff(request)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).none()

    def get_urls(self) -> list[Any]:
        # The page only: there are no rows to add, change, delete or show the history of.
        view = self.admin_site.admin_view(self.changelist_view)
        return [
            path("", view, name="sponsors_calendar"),
            path("", view, name="sponsors_calendar_changelist"),  # the app list's link
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        user = _staff(request)
        kinds = visible_kinds(user)
        if not kinds:
            raise PermissionDenied
        zone = display_zone()
        today = timezone.now().astimezone(zone).date()
        # Always bound, defaults filled in: the form shows the window it is showing.
        data = request.GET.copy()
        data.setdefault("start", today.isoformat())
        data.setdefault("weeks", str(DEFAULT_WEEKS))
        form = CalendarForm(data, kinds=kinds, sponsors=may_view(user, Sponsor))
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Calendar of changes",
            "form": form,
            "time_zone": zone.key,
            "feed_url": reverse("admin:sponsors_calendarfeed_changelist"),
        }
        if not form.is_valid():
            context["days"] = None
            return TemplateResponse(request, "sponsors/admin/calendar.html", context, status=400)
        chosen = form.cleaned_data
        start = chosen["start"] or today
        weeks = chosen["weeks"] or DEFAULT_WEEKS
        last = start + dt.timedelta(days=7 * weeks - 1)
        first, after = local_range(start, last, zone)
        sponsor = chosen.get("sponsor")
        filters = CalendarFilters(
            kinds=frozenset(chosen["kind"]) if chosen["kind"] else None,
            sponsor=sponsor.slug if sponsor else None,
        )
        events = calendar_events(start=first, end=after, user=user, filters=filters)
        days = []
        for day, group in groupby(events, key=lambda event: event.when.astimezone(zone).date()):
            entries = []
            for event in group:
                local = event.when.astimezone(zone)
                entries.append({"time": f"{local:%H:%M} {local.tzname()}", "event": event})
            days.append(
                {
                    "date": day,
                    "today": day == today,
                    "clock": clock_change(day, zone),
                    "entries": entries,
                }
            )

        def moved(to: dt.date) -> str:
            query = request.GET.copy()
            query["start"] = to.isoformat()
            return "?" + query.urlencode()

        context.update(
            days=days,
            count=len(events),
            start=start,
            last=last,
            today=today,
            sponsor=sponsor,
            filtered=bool(filters.kinds or filters.sponsor),
            clock_changes=[
                {"date": day, "text": text}
                for day in (start + dt.timedelta(days=n) for n in range(7 * weeks))
                if (text := clock_change(day, zone))
            ],
            nav={
                "previous_month": moved(add_months(start, -1)),
                "previous_week": moved(start - dt.timedelta(days=7)),
                "today": moved(today),
                "next_week": moved(start + dt.timedelta(days=7)),
                "next_month": moved(add_months(start, 1)),
            },
        )
        return TemplateResponse(request, "sponsors/admin/calendar.html", context)


class CalendarFeedAdmin(admin.ModelAdmin):
    """ "Calendar feeds": the staff member's own feed address, to create, rotate or revoke."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(visible_kinds(_staff(request)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Deleting stays Django's (the delete permission: superusers), so that deleting a person
    # in the admin may take their feeds with them; here feeds are only revoked.

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).filter(user=_staff(request))

    def get_urls(self) -> list[Any]:
        # The person's own feed page only: a feed is never opened, edited or deleted here
        # (deleting a person still deletes their feeds, without a link to them).
        view = self.admin_site.admin_view(self.changelist_view)
        return [path("", view, name="sponsors_calendarfeed_changelist")]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        user = _staff(request)
        if request.method == "POST":
            self._act(request, user, request.POST.get("action", ""))
            return HttpResponseRedirect(request.path)
        feed = calendar_feed_of(user)
        web_url = webcal_url = None
        if feed is not None:
            web_url = request.build_absolute_uri(reverse("calendar-feed", args=[feed.token]))
            webcal_url = "webcal://" + web_url.split("://", 1)[1]
        kinds = visible_kinds(user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Your calendar feed",
            "feed": feed,
            "web_url": web_url,
            "webcal_url": webcal_url,
            "kinds": [Kind(kind).label for kind in Kind.values if kind in kinds],
            "past_days": FEED_PAST.days,
            "ahead_days": FEED_AHEAD.days,
            "calendar_url": reverse("admin:sponsors_calendar"),
        }
        return TemplateResponse(request, "sponsors/admin/calendar_feed.html", context)

    def _act(self, request: HttpRequest, user: User, action: str) -> None:
        if action == "create":
            calendar_feed_create(user=user)
            self.message_user(
                request, "Your calendar feed is ready: add its address to your calendar app."
            )
        elif action == "rotate":
            calendar_feed_rotate(user=user)
            self.message_user(
                request,
                "Your feed has a new address; the old one has stopped working. Give your "
                "calendar app the new one.",
            )
        elif action == "revoke":
            if calendar_feed_revoke(user=user):
                self.message_user(request, "Your feed is revoked: its address answers nothing now.")
            else:
                self.message_user(request, "You had no calendar feed.", messages.WARNING)
        else:
            self.message_user(
                request, "Choose to create, rotate or revoke your feed.", messages.ERROR
            )


admin.site.register(Calendar, CalendarAdmin)
admin.site.register(CalendarFeed, CalendarFeedAdmin)
