"""The delivery report page: totals, CTR and uncounted events by reason, grouped and
filtered, with a chart and a streamed CSV of the same figures (``sponsors.reports``).

At ``admin:sponsors_delivery_report`` (its CSV at ``admin:sponsors_delivery_report_csv``),
for staff who may view the delivery counts. Its query string is the report's: other pages
link to it, e.g. ``?campaign=<id>&group_by=day``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse

from sponsors import reports
from sponsors.models import Campaign, Creative, DeliveryCounter, DeliveryReport, Slot, Sponsor
from sponsors.reports import (
    DIMENSIONS,
    EVENTS,
    GROUP_LABELS,
    GROUPS,
    PERIODS,
    REASONS,
    ReportFilters,
    ReportStream,
    chart_series,
    delivery_report,
    display_zone,
    period_label,
    period_of,
    report_csv_response,
    report_range,
)

# Rows shown on the page; the CSV has them all (and the totals row always counts them all).
PAGE_ROWS = 1000
PERMISSION = "sponsors.view_deliverycounter"
FILTERS = ("campaign", "creative", "slot", "sponsor")

GROUP_CHOICES = [
    ("Period", [(group_by, GROUP_LABELS[group_by]) for group_by in PERIODS]),
    ("Inventory", [(group_by, GROUP_LABELS[group_by]) for group_by in DIMENSIONS]),
    (
        "Inventory by period",
        [
            (group_by, label)
            for group_by, label in GROUP_LABELS.items()
            if len(GROUPS[group_by]) > 1
        ],
    ),
]


class _IdAutocomplete(AutocompleteSelect):
    def optgroups(self, name: str, value: Sequence[str], attrs: Any = None) -> Any:
        # A hand-typed id that is no number selects nothing (the field's error says so).
        return super().optgroups(name, [v for v in value if str(v).isdigit()], attrs)


class DeliveryReportForm(forms.Form):
    """The report's range, grouping and filters, read from the query string."""

    start = forms.DateField(required=False, widget=AdminDateWidget, help_text="First day.")
    end = forms.DateField(required=False, widget=AdminDateWidget, help_text="Last day.")
    group_by = forms.ChoiceField(choices=GROUP_CHOICES, required=False, label="Group by")
    campaign = forms.ModelChoiceField(Campaign.objects.all(), required=False)
    creative = forms.ModelChoiceField(Creative.objects.all(), required=False)
    slot = forms.ModelChoiceField(Slot.objects.order_by("key"), to_field_name="key", required=False)
    sponsor = forms.ModelChoiceField(
        Sponsor.objects.order_by("name"), to_field_name="slug", required=False
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Campaigns and creatives can be many: searched as typed, as on their own pages.
        for name, relation in (
            ("campaign", Creative._meta.get_field("campaign")),
            ("creative", DeliveryCounter._meta.get_field("creative")),
        ):
            field = self.fields[name]
            field.widget = _IdAutocomplete(relation, admin_site, choices=field.choices)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "start" in self.errors or "end" in self.errors:
            return cleaned
        try:
            cleaned["start"], cleaned["end"] = report_range(
                cleaned.get("start"), cleaned.get("end")
            )
        except ValidationError as error:
            self.add_error(None, error)
        cleaned["group_by"] = cleaned.get("group_by") or "day"
        return cleaned

    def report_options(self) -> dict[str, Any]:
        """What ``sponsors.reports`` is asked for (a valid form)."""
        data = self.cleaned_data
        filters = ReportFilters(
            campaign=data["campaign"].pk if data["campaign"] else None,
            creative=data["creative"].pk if data["creative"] else None,
            slot=data["slot"].key if data["slot"] else None,
            sponsor=data["sponsor"].slug if data["sponsor"] else None,
        )
        return {
            "start": data["start"],
            "end": data["end"],
            "group_by": data["group_by"],
            "filters": filters,
            "zone": display_zone(),
        }


def report_query(options: dict[str, Any], **changes: Any) -> str:
    """The query string of a report (as the form reads it), with ``changes``."""
    filters: ReportFilters = options["filters"]
    params: dict[str, Any] = {
        "start": options["start"],
        "end": options["end"],
        "group_by": options["group_by"],
        **{name: getattr(filters, name) for name in FILTERS},
        **changes,
    }
    return urlencode({key: value for key, value in params.items() if value is not None})


def _number(n: int) -> str:
    return f"{n:,}"


class _Table:
    """Rows of a report as the page shows them: named cells (linked to the object or to the
    report of that period), formatted counts, the uncounted events' nonzero reasons."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.parts = GROUPS[options["group_by"]]
        self.zone = options["zone"]
        self.url = reverse("admin:sponsors_delivery_report")

    def headers(self) -> list[str]:
        return [part.capitalize() for part in self.parts]

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"cells": [self._cell(part, row) for part in self.parts], **self.counts(row)}

    def counts(self, counts: dict[str, Any]) -> dict[str, Any]:
        uncounted = {
            event: {
                "total": _number(sum(counts["uncounted"][event].values())),
                "reasons": [
                    (reason, _number(n))
                    for reason in REASONS
                    if (n := counts["uncounted"][event][reason])
                ],
            }
            for event in EVENTS.values()
        }
        return {
            "impressions": _number(counts["impressions"]),
            "clicks": _number(counts["clicks"]),
            "ctr": f"{counts['ctr'] * 100:.2f} %",
            "bot_impressions": _number(counts["bot_impressions"]),
            "bot_clicks": _number(counts["bot_clicks"]),
            "uncounted": uncounted,
        }

    def _cell(self, part: str, row: dict[str, Any]) -> dict[str, Any]:
        if part in PERIODS:
            return self._period_cell(part, row[part])
        pk = row[part] if part in ("campaign", "creative") else row[f"{part}_id"]
        filter_value = row[part] if part in ("slot", "sponsor") else pk
        only = dataclasses.replace(self.options["filters"], **{part: filter_value})
        by_day = report_query({**self.options, "filters": only}, group_by="day")
        return {
            "text": row["name"] or f"#{pk}",
            "url": reverse(f"admin:sponsors_{part}_change", args=[pk]),
            "detail": row[part] if part in ("slot", "sponsor") else f"#{pk}",
            "drill": (f"{self.url}?{by_day}", f"{row['name'] or pk}, by day"),
        }

    def _period_cell(self, part: str, key: Any) -> dict[str, Any]:
        text = period_label(part, key, self.zone)
        if part == "hour":
            # With the zone's abbreviation: the hour the clocks go back shows twice.
            return {"text": f"{text} {key.astimezone(self.zone):%Z}"}
        if part == "day":
            first, last, finer = key, key, "hour"
            text = f"{text} {key:%a}"
        elif part == "week":
            first, last, finer = key, key + dt.timedelta(days=6), "day"
        else:
            first = key
            last = (key + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            finer = "day"
        first, last = max(first, self.options["start"]), min(last, self.options["end"])
        query = report_query(self.options, start=first, end=last, group_by=finer)
        return {"text": text, "drill": (f"{self.url}?{query}", f"{text}, by {finer}")}


def report_page(options: dict[str, Any]) -> dict[str, Any]:
    """The page's table (its first ``PAGE_ROWS`` rows, totals of all) and chart.

    Constant in queries: the report's (two or three), and for a report that is not by a
    period, or has more rows than the page shows, the chart's by its period (two more).
    """
    stream = ReportStream(**options)
    rows = iter(stream)
    shown = list(itertools.islice(rows, PAGE_ROWS))
    hidden = sum(1 for _ in rows)  # read, so the totals count them, but not kept
    group_by = options["group_by"]
    if group_by in PERIODS and not hidden:
        chart_report: reports.DeliveryReport = {
            "start": options["start"],
            "end": options["end"],
            "time_zone": stream.zone.key,
            "group_by": group_by,
            "rows": shown,
            "totals": stream.totals,
        }
    else:
        chart_report = delivery_report(**{**options, "group_by": period_of(group_by)})
    table = _Table(options)
    period = period_of(group_by)
    return {
        "headers": table.headers(),
        "rows": [table.row(row) for row in shown],
        "totals": table.counts(stream.totals),
        "hidden_rows": hidden,
        "total_rows": len(shown) + hidden,
        "chart": chart_series(chart_report),
        "chart_title": f"Impressions and clicks by {period}",
        "csv_query": report_query(options),
    }


@admin.register(DeliveryReport)
class DeliveryReportAdmin(admin.ModelAdmin):
    """The report page in place of a changelist (the app list links to it)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        page = self.admin_site.admin_view(self.report_view)
        return [
            path("", page, name="sponsors_delivery_report"),
            path(
                "csv/",
                self.admin_site.admin_view(self.csv_view),
                name="sponsors_delivery_report_csv",
            ),
            path("", page, name="sponsors_deliveryreport_changelist"),  # the app list's link
        ]

    def _form(self, request: HttpRequest) -> tuple[DeliveryReportForm, QueryDict]:
        if not self.has_view_permission(request):
            raise PermissionDenied
        data = request.GET.copy()
        data.setdefault("group_by", "day")  # shown as chosen, also beside errors
        return DeliveryReportForm(data, admin_site=self.admin_site), data

    def report_view(self, request: HttpRequest) -> HttpResponse:
        form, data = self._form(request)
        if not form.is_valid():
            return self._render(request, form, {}, status=400)
        options = form.report_options()
        # The form shows what the report covers, defaults included.
        data["start"], data["end"] = options["start"].isoformat(), options["end"].isoformat()
        data["group_by"] = options["group_by"]
        return self._render(request, form, report_page(options), status=200)

    def csv_view(self, request: HttpRequest) -> HttpResponseBase:
        form, _ = self._form(request)
        if not form.is_valid():
            return self._render(request, form, {}, status=400)
        return report_csv_response(**form.report_options())

    def _render(
        self, request: HttpRequest, form: DeliveryReportForm, context: dict[str, Any], status: int
    ) -> HttpResponse:
        return TemplateResponse(
            request,
            "sponsors/admin/delivery_report.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Delivery report",
                "form": form,
                "media": self.media + form.media,
                "zone": display_zone().key,
                "page_rows": PAGE_ROWS,
                "events": list(EVENTS.values()),
                **context,
            },
            status=status,
        )
