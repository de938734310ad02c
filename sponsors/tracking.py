"""Impression beacons and click redirects: signed tokens, bot detection, counting.

Every placement the decision serves gets two URLs carrying a token signed with Django's
``signing`` (HMAC with SECRET_KEY, a salt per purpose, a timestamp for expiry):

* the impression beacon, which the front end calls when the creative starts to render;
* the click URL, which redirects (302) to the creative's stored destination.

A token names the placement (the served decision), creative, slot, campaign, the
campaign's cap period and the viewer. A tampered, truncated, expired or foreign token
(signed with another key, or for the other purpose) is refused before anything is counted
or any redirect is made; a click never redirects anywhere but the creative's stored
``click_url``. Each placement counts once per purpose: a replayed beacon or a second click
of the same ad is answered as usual but counts nothing. Known bots and crawlers, and
non-browser clients (``sponsors.user_agents``), are counted in separate, non-billable
columns and never feed caps or pacing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.encoding import force_bytes

from cms.models import Article
from sponsors.counters import (
    CLICK,
    IMPRESSION,
    READ,
    TrackedEvent,
    beacon_max_age,
    click_max_age,
    get_counters,
    read_max_age,
)
from sponsors.decision import Placement
from sponsors.inventory_cache import get_inventory
from sponsors.models import Creative, Reason
from sponsors.user_agents import BOT, NON_BROWSER, verdict

SALTS = {IMPRESSION: "sponsors.ads.impression", CLICK: "sponsors.ads.click"}

VIEWER_RE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)


@dataclass(frozen=True, slots=True)
class TokenData:
    placement_id: str
    creative_id: int
    slot_id: int
    campaign_id: int
    cap_period: str
    viewer: str | None
    preview: bool = False  # minted by a preview or a forced decision: never counts


class InvalidTokenError(Exception):
    """The token is not one this site signed for this purpose, or it has expired.

    An expired token was signed here, so what it names is known (``data``); an invalid or
    tampered one names nothing.
    """

    def __init__(self, message: str, *, expired: bool = False, data: TokenData | None = None):
        super().__init__(message)
        self.expired = expired
        self.data = data

    @property
    def reason(self) -> str:
        return Reason.EXPIRED if self.expired else Reason.INVALID


def _payload(placement: Placement, viewer: str | None, *, preview: bool = False) -> str:
    creative = placement.creative
    cap_period = creative.cap_period if creative.cap is not None else ""
    return (
        f"{placement.placement_id}.{creative.id}.{placement.slot.id}."
        f"{creative.campaign_id}.{cap_period}.{viewer or ''}{'.p' if preview else ''}"
    )


class _Keys:
    """The HMAC keys Django's ``TimestampSigner(salt=...)`` signs with, prepared once.

    ``signing.base64_hmac`` derives the key from the salt and the secret on every call;
    here each key (SECRET_KEY first, then SECRET_KEY_FALLBACKS) is derived and keyed once
    per purpose, and a signature is a copy of the keyed HMAC: the same bytes, a fraction of
    the work.
    """

    __slots__ = ("all", "current")

    def __init__(self, kind: str) -> None:
        salt = force_bytes(SALTS[kind] + "signer")
        keyed = [
            hmac.new(hashlib.sha256(salt + force_bytes(key)).digest(), digestmod=hashlib.sha256)
            for key in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
        ]
        self.current = keyed[0]
        self.all = tuple(keyed)


def _signature(keyed: hmac.HMAC, value: bytes) -> str:
    mac = keyed.copy()
    mac.update(value)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


_keys: dict[str, _Keys] = {}


def _keys_for(kind: str) -> _Keys:
    keys = _keys.get(kind)
    if keys is None:
        keys = _keys[kind] = _Keys(kind)
    return keys


@receiver(setting_changed)
def _forget_keys(*, setting: str, **kwargs: Any) -> None:
    if setting in ("SECRET_KEY", "SECRET_KEY_FALLBACKS"):
        _keys.clear()


def make_tokens(
    placement: Placement, viewer: str | None, *, preview: bool = False
) -> tuple[str, str]:
    """(impression token, click token) for a served placement.

    ``preview``: for a preview or a forced decision (the admin's, a staff ``at``): its
    beacon and click are answered as usual but counted apart, never billed.
    """
    return Tokens(preview=preview)(placement, viewer)


class Tokens:
    """Makes the tokens of the ads of one response: exactly ``TimestampSigner(salt=...)
    .sign(payload)`` for each purpose (a test checks it), with the keys and the timestamp
    looked up once per response."""

    __slots__ = ("click_key", "impression_key", "preview", "stamp")

    def __init__(self, *, preview: bool = False) -> None:
        self.impression_key = _keys_for(IMPRESSION).current
        self.click_key = _keys_for(CLICK).current
        self.stamp = signing.b62_encode(int(time.time()))
        self.preview = preview

    def __call__(self, placement: Placement, viewer: str | None) -> tuple[str, str]:
        value = f"{_payload(placement, viewer, preview=self.preview)}:{self.stamp}"
        data = value.encode()
        return (
            f"{value}:{_signature(self.impression_key, data)}",
            f"{value}:{_signature(self.click_key, data)}",
        )


_TOKEN_RE = re.compile(r"([A-Za-z0-9_.-]{1,200}):([0-9A-Za-z]{1,12}):([A-Za-z0-9_-]{43})", re.ASCII)
_PAYLOAD_RE = re.compile(
    r"([A-Za-z0-9_-]{8,32})\.([0-9]{1,18})\.([0-9]{1,18})\.([0-9]{1,18})\.(hour|day|)"
    r"\.([A-Za-z0-9_-]{0,64})(\.p)?",
    re.ASCII,
)
_INVALID = "This tracking link is not valid."


def read_token(kind: str, token: str) -> TokenData:
    """Verify and decode a token of ``kind``; raise InvalidTokenError for anything else.

    What ``TimestampSigner(salt=...).unsign(token, max_age=...)`` checks (the signature with
    the current key or a fallback key, in constant time; then the age), with the token's
    shape checked by one pattern first: ours never contain anything else.
    """
    match = _TOKEN_RE.fullmatch(token or "")
    if match is None:
        raise InvalidTokenError(_INVALID)
    payload, stamp, signature = match.groups()
    signed = f"{payload}:{stamp}".encode()
    for key in _keys_for(kind).all:
        if hmac.compare_digest(_signature(key, signed), signature):
            break
    else:
        raise InvalidTokenError(_INVALID)
    fields = _PAYLOAD_RE.fullmatch(payload)
    if fields is None:
        raise InvalidTokenError(_INVALID)
    placement_id, creative, slot, campaign, cap_period, viewer, preview = fields.groups()
    data = TokenData(
        placement_id=placement_id,
        creative_id=int(creative),
        slot_id=int(slot),
        campaign_id=int(campaign),
        cap_period=cap_period,
        viewer=viewer or None,
        preview=preview is not None,
    )
    max_age = beacon_max_age() if kind == IMPRESSION else click_max_age()
    if time.time() - signing.b62_decode(stamp) > max_age:
        raise InvalidTokenError("This tracking link has expired.", expired=True, data=data)
    return data


def record(kind: str, data: TokenData, *, user_agent: str | None, now: datetime) -> bool:
    """Count one verified event (once per placement, or apart by its reason); True if it
    was counted as billable."""
    return get_counters().record(_event(kind, data, user_agent=user_agent, now=now))


def record_refused(kind: str, error: InvalidTokenError, *, now: datetime) -> None:
    """Count apart a beacon or click whose token was refused (expired, invalid, tampered).

    An expired token names its creative and slot; an invalid one is counted per hour
    with nothing named. One hourly counter per reason: hostile traffic grows nothing.
    """
    data = error.data
    event = TrackedEvent(
        kind=kind,
        receipt_id="",
        at=now,
        creative_id=data.creative_id if data else 0,
        slot_id=data.slot_id if data else 0,
        campaign_id=data.campaign_id if data else 0,
        reason=error.reason,
    )
    get_counters().record(event)


_REASONS = {BOT: Reason.BOT, NON_BROWSER: Reason.NON_BROWSER}


def event_reason(*, user_agent: str | None, preview: bool = False) -> str | None:
    """Why an event would not bill (a preview's token, a bot, a non-browser client: see
    ``sponsors.user_agents``), or None when it bills."""
    if preview:
        return Reason.PREVIEW
    return _REASONS.get(verdict(user_agent))


def _event(kind: str, data: TokenData, *, user_agent: str | None, now: datetime) -> TrackedEvent:
    return TrackedEvent(
        kind=kind,
        receipt_id=data.placement_id,
        at=now,
        creative_id=data.creative_id,
        slot_id=data.slot_id,
        campaign_id=data.campaign_id,
        cap_period=data.cap_period,
        viewer=data.viewer,
        reason=event_reason(user_agent=user_agent, preview=data.preview),
    )


def record_click(data: TokenData, *, user_agent: str | None, now: datetime) -> str | None:
    """Count a verified click (once per placement); return where it goes, None if nowhere.

    The count and the inventory version are read in one round trip. A click on a creative
    deleted since it was served answers None; its count is dropped (the database refuses it,
    the Redis flush skips it).
    """
    event = _event(CLICK, data, user_agent=user_agent, now=now)
    store = get_counters()
    if not store.buffered:  # database counters: look first, count only a click that goes
        destination = click_destination(data.creative_id)
        store.record(event if destination is not None else replace(event, reason=Reason.UNKNOWN))
        return destination
    _, version = store.record_versioned(event)
    return click_destination(data.creative_id, version=version)


def click_destination(creative_id: int, *, version: str | None = None) -> str | None:
    """The creative's stored click-through URL (from the snapshot; the database if absent)."""
    entry = get_inventory(version).creatives.get(creative_id)
    url: str | None
    if entry is not None:
        url = entry.click_url
    else:  # paused or ended since it was served: the click still goes where it promised
        url = Creative.objects.filter(pk=creative_id).values_list("click_url", flat=True).first()
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    return url


# ---------------------------------------------------------------------------------------------
# Article reads: one signed token per page view (the article API hands it out as ``read_url``)

READ_SALT = "sponsors.reads"
SALTS[READ] = READ_SALT  # its own salt: an ad token is never a read token, nor the reverse

_READ_TOKEN_RE = re.compile(
    r"([A-Za-z0-9_-]{16})\.([0-9]{1,18}):([0-9A-Za-z]{1,12}):([A-Za-z0-9_-]{43})", re.ASCII
)
_INVALID_READ = "This read link is not valid."


@dataclass(frozen=True, slots=True)
class ReadTokenData:
    page_view_id: str
    article_id: int


class InvalidReadTokenError(InvalidTokenError):
    """A read token this site did not sign for reads, or an expired one (which still names
    its article)."""

    def __init__(self, message: str, *, expired: bool = False, article_id: int = 0) -> None:
        super().__init__(message, expired=expired)
        self.article_id = article_id


def make_read_token(article_id: int) -> str:
    """A fresh read token for one page view of the article.

    Exactly ``TimestampSigner(salt="sponsors.reads").sign(f"{page_view_id}.{article_id}")``
    (a test checks it) with a new random page-view id (96 bits), signed with the key derived
    once per process: no query, a few microseconds.
    """
    value = f"{secrets.token_urlsafe(12)}.{article_id}:{signing.b62_encode(int(time.time()))}"
    return f"{value}:{_signature(_keys_for(READ).current, value.encode())}"


def read_read_token(token: str) -> ReadTokenData:
    """Verify and decode a read token; raise InvalidReadTokenError for anything else.

    The checks of ``TimestampSigner(salt="sponsors.reads").unsign(token, max_age=...)``
    (current or fallback key, constant-time compare, then the age: ``ADS_READ_MAX_AGE``).
    """
    match = _READ_TOKEN_RE.fullmatch(token or "")
    if match is None:
        raise InvalidReadTokenError(_INVALID_READ)
    page_view_id, article, stamp, signature = match.groups()
    signed = f"{page_view_id}.{article}:{stamp}".encode()
    if not any(
        hmac.compare_digest(_signature(key, signed), signature) for key in _keys_for(READ).all
    ):
        raise InvalidReadTokenError(_INVALID_READ)
    if time.time() - signing.b62_decode(stamp) > read_max_age():
        raise InvalidReadTokenError(
            "This read link has expired.", expired=True, article_id=int(article)
        )
    return ReadTokenData(page_view_id=page_view_id, article_id=int(article))


def record_read(data: ReadTokenData, *, user_agent: str | None, now: datetime) -> bool:
    """Count one page view's read of its article (once per page view: the page-view id is
    the receipt; bots apart); True if it counted as a read."""
    event = TrackedEvent(
        kind=READ,
        receipt_id=data.page_view_id,
        at=now,
        article_id=data.article_id,
        reason=event_reason(user_agent=user_agent),
    )
    store = get_counters()
    # The database path looks first (the Redis flush checks its batch's articles): a deleted
    # article's foreign key would only fail at the outermost commit.
    if (
        not store.buffered
        and event.reason is None
        and not Article.objects.filter(pk=data.article_id).exists()
    ):
        event = replace(event, reason=Reason.UNKNOWN)
    return store.record(event)


def record_refused_read(error: InvalidReadTokenError, *, now: datetime) -> None:
    """Count apart a read whose token was refused: an expired one under its article, an
    invalid one per hour with nothing named (hostile traffic grows nothing)."""
    event = TrackedEvent(
        kind=READ, receipt_id="", at=now, article_id=error.article_id, reason=error.reason
    )
    get_counters().record(event)
