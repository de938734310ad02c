"""Partner submissions ("Add your own content +"): one home for the whole workflow.

Partners create, edit and withdraw their own pending submissions (API and form page); editors
approve them (a draft partner article tied to the partner's sponsor by a sponsorship) or
reject them with a reason (admin). Every function here is shared by those callers, so the
rules - sanitized text, the rate limit, who may do what - hold the same everywhere.

Text is stored sanitized: paragraph and quote blocks keep the inline subset of
``cms.sanitize.clean_rich_text``; every other field has all markup removed and is stored as
plain text (``clean_plain_text``), like the standfirst of any article, escaped where shown.
"""

from __future__ import annotations

import html
import math
import re
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, Required, TypedDict

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from rest_framework.settings import api_settings

from cms import history
from cms.images import delete_renditions, validate_image_file
from cms.models import (
    Article,
    ArticleBlock,
    ArticleTopic,
    Submission,
    SubmissionTopic,
    Topic,
    count_words,
    unique_slug,
)
from cms.sanitize import clean_plain_text, clean_rich_text
from sponsors.models import Partner, Sponsorship
from sponsors.sponsorships import default_label, partner_can_submit, partner_for

BLOCK_TYPES = ("paragraph", "heading", "quote", "list")
MAX_BLOCKS = 100
MAX_BLOCK_CHARS = 10_000
MAX_LIST_ITEMS = 50
MAX_TOPICS = 5
DEFAULT_RATE = "20/hour"

# (field, stored max length, required): limits apply to the sanitized (escaped) text.
TEXT_FIELDS = [
    ("headline", 200, True),
    ("standfirst", 1000, False),
    ("hero_caption", 300, False),
    ("hero_alt", 300, False),
]
ATTRIBUTION_MAX = 200


class Block(TypedDict, total=False):
    """A body block as stored (``Submission.body``): its type and text, or a list's items."""

    type: Required[str]  # one of BLOCK_TYPES
    text: str
    items: list[str]
    attribution: str  # quotes only


_PERIODS = {"s": (1, "second"), "m": (60, "minute"), "h": (3600, "hour"), "d": (86400, "day")}


class SubmissionDecidedError(Exception):
    """The submission was approved or rejected: its partner can no longer change it."""

    def __init__(self, submission: Submission) -> None:
        self.submission = submission
        super().__init__(
            f"This submission was {submission.get_status_display().lower()} and can no "
            "longer be changed or withdrawn."
        )


class SubmissionRateLimitedError(Exception):
    """The partner has sent as many submissions as the rate allows; ``wait`` is in seconds."""

    def __init__(self, *, wait: float, limit: int, period: str) -> None:
        self.wait, self.limit, self.period = wait, limit, period
        super().__init__(self.message)

    @property
    def message(self) -> str:
        minutes = math.ceil(self.wait / 60)
        later = (
            f"{math.ceil(self.wait)} seconds"
            if self.wait < 60
            else f"{minutes} minute{'s' if minutes != 1 else ''}"
        )
        return (
            f"Too many submissions: a partner account may send at most {self.limit} per "
            f"{self.period}. Try again in {later}."
        )


# ---------------------------------------------------------------------------------------------
# Cleaning what partners send, and showing it


def plain_html(value: str) -> SafeString:
    """Stored plain text, escaped for an HTML page."""
    return escape(value or "")


def rich_html(value: str) -> SafeString:
    return mark_safe(clean_rich_text(value or ""))  # nh3 output is safe HTML


def _plain(value: Any) -> str:
    return clean_plain_text(str(value or "").replace("\x00", ""))


def _rich(value: Any) -> str:
    return clean_rich_text(str(value or "").replace("\x00", ""))


def _clean_block(block: Any) -> Block:
    if not isinstance(block, dict):
        raise ValidationError("each block must be an object with a “type”.")
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        raise ValidationError(
            f"unknown type {str(kind)[:20]!r}; use paragraph, heading, quote or list."
        )
    if kind == "list":
        items = block.get("items")
        if isinstance(items, str):
            items = items.splitlines()
        if not isinstance(items, list):
            raise ValidationError("a list needs “items”, a list of texts.")
        if len(items) > MAX_LIST_ITEMS:
            raise ValidationError(f"a list may have at most {MAX_LIST_ITEMS} items.")
        # One item per line in the article: line breaks inside an item become spaces.
        cleaned = [_plain(" ".join(str(item).splitlines())) for item in items]
        cleaned = [item for item in cleaned if item]
        if not cleaned:
            raise ValidationError("a list needs at least one item with text.")
        if any(len(item) > MAX_BLOCK_CHARS for item in cleaned):
            raise ValidationError(f"list items may be at most {MAX_BLOCK_CHARS} characters.")
        return {"type": "list", "items": cleaned}
    text = block.get("text")
    if not isinstance(text, str):
        raise ValidationError(f"a {kind} needs “text”.")
    if len(text) > MAX_BLOCK_CHARS:
        raise ValidationError(f"a {kind} may be at most {MAX_BLOCK_CHARS} characters.")
    text = _rich(text) if kind in ("paragraph", "quote") else _plain(text)
    if not text:
        raise ValidationError(f"a {kind} needs text (markup on its own is removed).")
    if kind != "quote":
        return {"type": kind, "text": text}
    attribution = _plain(block.get("attribution"))
    if len(attribution) > ATTRIBUTION_MAX:
        raise ValidationError(f"an attribution may be at most {ATTRIBUTION_MAX} characters.")
    return {"type": kind, "text": text, "attribution": attribution}


def clean_blocks(blocks: Any) -> list[Block]:
    """Validate and sanitize body blocks; raise ValidationError({"body": [...]}) if unusable."""
    if not isinstance(blocks, list):
        raise ValidationError({"body": ["Send the body as a list of blocks."]}, code="invalid")
    if not blocks:
        raise ValidationError({"body": ["The body needs at least one block."]}, code="required")
    if len(blocks) > MAX_BLOCKS:
        raise ValidationError({"body": [f"The body may have at most {MAX_BLOCKS} blocks."]})
    cleaned, errors = [], []
    for number, block in enumerate(blocks, 1):
        try:
            cleaned.append(_clean_block(block))
        except ValidationError as error:
            errors.append(f"Block {number}: {error.messages[0]}")
    if errors:
        raise ValidationError({"body": errors}, code="invalid")
    return cleaned


_HEADING = re.compile(r"^#{1,6}\s+")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_ATTRIBUTION = re.compile(r"^(—|--|-)\s*")


def text_to_blocks(text: str) -> list[Block]:
    """Turn plain text into blocks.

    Blank lines separate blocks. A block starting with ``## `` is a heading; one whose lines
    all start with ``- `` (or ``* ``, ``• ``) is a bulleted list; one whose lines all start
    with ``>`` is a pull quote (a last line ``> — Name`` is its attribution); anything else is
    a paragraph.
    """
    blocks: list[Block] = []
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    for chunk in re.split(r"\n[ \t]*\n", text):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if not lines:
            continue
        if _HEADING.match(lines[0]):
            blocks.append({"type": "heading", "text": " ".join([_HEADING.sub("", lines[0])])})
            if lines[1:]:
                blocks.append({"type": "paragraph", "text": " ".join(lines[1:])})
        elif all(_BULLET.match(line) for line in lines):
            blocks.append({"type": "list", "items": [_BULLET.sub("", line) for line in lines]})
        elif all(line.startswith(">") for line in lines):
            quoted = [line[1:].strip() for line in lines]
            attribution = ""
            if len(quoted) > 1 and _ATTRIBUTION.match(quoted[-1]):
                attribution = _ATTRIBUTION.sub("", quoted.pop())
            blocks.append({"type": "quote", "text": " ".join(quoted), "attribution": attribution})
        else:
            blocks.append({"type": "paragraph", "text": " ".join(lines)})
    return blocks


def _clean_text_fields(values: dict[str, Any], *, partial: bool) -> dict[str, str]:
    cleaned, errors = {}, {}
    for field, max_length, required in TEXT_FIELDS:
        if field not in values:
            if required and not partial:
                errors[field] = ["This field is required."]
            continue
        value = _plain(values[field])
        if required and not value:
            errors[field] = ["This field needs text (markup on its own is removed)."]
        elif len(value) > max_length:
            errors[field] = [
                f"At most {max_length} characters once special characters are escaped "
                f"(this is {len(value)})."
            ]
        cleaned[field] = value
    if errors:
        raise ValidationError(errors, code="invalid")
    return cleaned


def _body(values: dict[str, Any]) -> list[Block] | None:
    has_blocks = values.get("body") not in (None, [], "")
    has_text = bool((values.get("body_text") or "").strip())
    if has_blocks and has_text:
        raise ValidationError(
            {"body": ["Send the body either as blocks (body) or as text (body_text), not both."]}
        )
    if has_blocks:
        return clean_blocks(values["body"])
    if has_text:
        try:
            return clean_blocks(text_to_blocks(values["body_text"]))
        except ValidationError as error:
            raise ValidationError({"body_text": error.message_dict["body"]}) from None
    return None


def _topics(topics: Any) -> list[Topic]:
    topics = list(topics or [])
    if len(topics) > MAX_TOPICS:
        raise ValidationError({"topics": [f"Choose at most {MAX_TOPICS} topics."]})
    unique: list[Topic] = []
    for topic in topics:
        if topic not in unique:
            unique.append(topic)
    return unique


def _check_image(image: Any) -> None:
    try:
        validate_image_file(image)
    except ValidationError as error:
        raise ValidationError({"hero_image": error.messages}) from None


def _word_count(submission: Submission) -> int:
    texts = [submission.headline, submission.standfirst]
    for block in submission.body:
        texts.append(block.get("text", ""))
        texts.extend(block.get("items", []))
    return count_words(*texts)


def _set_topics(submission: Submission, topics: list[Topic]) -> None:
    submission.submission_topics.all().delete()
    SubmissionTopic.objects.bulk_create(
        SubmissionTopic(submission=submission, topic=topic, position=position)
        for position, topic in enumerate(topics)
    )


# ---------------------------------------------------------------------------------------------
# The rate limit (per partner account, counted from the database: exact across servers)


def submission_rate() -> tuple[int, int, str]:
    """(how many, per how many seconds, period name) from ``DEFAULT_THROTTLE_RATES``."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("submissions") or DEFAULT_RATE
    number, period = rate.split("/")  # type: ignore[union-attr]  # "N/period": DRF stubs say a number
    seconds, name = _PERIODS[period.strip()[0].lower()]
    return int(number), seconds, name


def submission_wait(*, user: Any, now: datetime | None = None) -> float | None:
    """Seconds until ``user`` may submit again, or None if it may submit now."""
    now = now or timezone.now()
    limit, seconds, _ = submission_rate()
    window_start = now - timedelta(seconds=seconds)
    recent = list(
        Submission.objects.filter(submitted_by=user, created_at__gt=window_start)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(recent) < limit:
        return None
    # The oldest submissions that must leave the window before one more fits.
    frees_up = recent[len(recent) - limit] + timedelta(seconds=seconds)
    return max(1.0, (frees_up - now).total_seconds())


def check_submission_rate(*, user: Any, now: datetime | None = None) -> None:
    wait = submission_wait(user=user, now=now)
    if wait is not None:
        limit, _, period = submission_rate()
        raise SubmissionRateLimitedError(wait=wait, limit=limit, period=period)


# ---------------------------------------------------------------------------------------------
# Partners: create, edit, withdraw


def _partner(user: Any) -> Partner:
    partner = partner_for(user)
    if not partner_can_submit(partner):
        raise PermissionDenied("Only active partner accounts can submit content.")
    return partner


def submission_create(*, user: Any, data: dict[str, Any]) -> Submission:
    """Store a partner's submission for review.

    ``data`` may hold headline, standfirst, body (blocks) or body_text, topics (Topic
    objects), hero_image (an upload), hero_caption and hero_alt. Raises PermissionDenied
    for non-partners, ValidationError for unusable input and SubmissionRateLimitedError when
    the partner has reached its rate.
    """
    partner = _partner(user)
    fields = _clean_text_fields(data, partial=False)
    body = _body(data)
    if body is None:
        raise ValidationError({"body": ["Give the body, as blocks (body) or text (body_text)."]})
    topics = _topics(data.get("topics"))
    image = data.get("hero_image")
    if image:
        _check_image(image)
    with transaction.atomic():
        # One partner's submissions queue up here, so the rate count below is exact.
        Partner.objects.select_for_update().filter(pk=partner.pk).first()
        check_submission_rate(user=user)
        submission = Submission(
            sponsor=partner.sponsor, submitted_by=user, body=body, hero_image=image or "", **fields
        )
        submission.word_count = _word_count(submission)
        submission.save()
        _set_topics(submission, topics)
    return submission


def own_submissions(*, user: Any) -> QuerySet[Submission]:
    """The submissions ``user`` sent, newest first, with what their listing shows."""
    return (
        Submission.objects.filter(submitted_by=user)
        .select_related("sponsor")
        .prefetch_related("submission_topics__topic")
        .order_by("-created_at", "-pk")
    )


def _own_pending(submission: Submission, user: Any) -> Submission:
    _partner(user)
    if submission.submitted_by_id != user.pk:
        raise PermissionDenied("This is not your submission.")
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    if not locked.is_pending:
        raise SubmissionDecidedError(locked)
    return locked


@transaction.atomic
def submission_update(*, submission: Submission, user: Any, data: dict[str, Any]) -> Submission:
    """Change the given fields of the user's own pending submission."""
    submission = _own_pending(submission, user)
    fields = _clean_text_fields(data, partial=True)
    body = _body(data)
    for name, value in fields.items():
        setattr(submission, name, value)
    if body is not None:
        submission.body = body
    if data.get("hero_image"):
        _check_image(data["hero_image"])
        submission.hero_image = data["hero_image"]
    submission.word_count = _word_count(submission)
    submission.save()
    if "topics" in data:
        _set_topics(submission, _topics(data["topics"]))
    return submission


@transaction.atomic
def submission_withdraw(*, submission: Submission, user: Any) -> None:
    """Delete the user's own pending submission and its image files."""
    submission = _own_pending(submission, user)
    renditions, image = submission.hero_renditions, submission.hero_image
    submission.delete()

    def remove_files() -> None:
        delete_renditions(renditions)
        if image:
            image.delete(save=False)

    transaction.on_commit(remove_files)


# ---------------------------------------------------------------------------------------------
# Editors: approve, reject


def _moderator(user: Any) -> None:
    if not user.has_perm("cms.moderate_submission"):
        raise PermissionDenied("Only editors with the moderation permission can do this.")


def _lock_pending(submission: Submission) -> Submission | None:
    locked = Submission.objects.select_for_update().get(pk=submission.pk)
    return locked if locked.is_pending else None


def _article_from(submission: Submission, *, by: Any) -> Article:
    article = Article(
        headline=submission.headline,
        # The headline is stored escaped ("Q&amp;A"); the address uses the words themselves.
        slug=unique_slug(Article, html.unescape(submission.headline)),
        standfirst=submission.standfirst,
        kind=Article.Kind.PARTNER,
        status=Article.Status.DRAFT,
        hero_caption=submission.hero_caption,
        hero_alt=submission.hero_alt,
    )
    if submission.hero_image:
        with submission.hero_image.open("rb") as source:
            data = source.read()
        article.hero_image.save(
            PurePosixPath(submission.hero_image.name).name,  # type: ignore[arg-type]  # a set file has a name
            ContentFile(data),
            save=False,
        )
    article._history_user = by  # type: ignore[attr-defined]  # simple-history's
    # One history row for the article, written once its body and topics are in.
    with history.one_record(article, reason=f"approved from submission {submission.pk}"):
        article.save()
        for position, block in enumerate(submission.body):
            text = "\n".join(block["items"]) if block["type"] == "list" else block["text"]
            ArticleBlock(
                article=article,
                position=position,
                kind=block["type"],
                text=text,
                attribution=block.get("attribution", ""),
            ).save()
        ArticleTopic.objects.bulk_create(
            ArticleTopic(article=article, topic_id=link.topic_id, position=link.position)
            for link in submission.submission_topics.all()
        )
    return article


@transaction.atomic
def submission_approve(
    *, submission: Submission, by: Any, now: datetime | None = None
) -> Article | None:
    """Approve a pending submission: a draft partner article with its content, sponsored.

    The article is tied to the partner's sponsor by an open-ended sponsorship labelled
    "Content created with", so editors only need to schedule it. Returns the article, or
    None when the submission had already been decided (nothing changes then).
    """
    _moderator(by)
    locked = _lock_pending(submission)
    if locked is None:
        return None
    article = _article_from(locked, by=by)
    Sponsorship.objects.create(article=article, sponsor=locked.sponsor, label=default_label())
    locked.status = Submission.Status.APPROVED
    locked.decided_by = by
    locked.decided_at = now or timezone.now()
    locked.article = article
    locked.save(update_fields=["status", "decided_by", "decided_at", "article", "updated_at"])
    return article


def clean_reason(reason: str) -> str:
    reason = _plain(reason)
    if not reason:
        raise ValidationError(
            {"reason": ["Tell the partner why: a rejection needs a reason."]}, code="required"
        )
    return reason


@transaction.atomic
def submission_reject(
    *, submission: Submission, by: Any, reason: str, now: datetime | None = None
) -> bool:
    """Reject a pending submission with a reason the partner will see; False if decided."""
    _moderator(by)
    reason = clean_reason(reason)
    locked = _lock_pending(submission)
    if locked is None:
        return False
    locked.status = Submission.Status.REJECTED
    locked.rejection_reason = reason
    locked.decided_by = by
    locked.decided_at = now or timezone.now()
    locked.save(
        update_fields=["status", "rejection_reason", "decided_by", "decided_at", "updated_at"]
    )
    return True


def submissions_approve(*, submissions: QuerySet[Submission], by: Any) -> tuple[int, int]:
    """Approve each; return (approved, skipped because already decided)."""
    approved = skipped = 0
    for submission in submissions.order_by("created_at", "pk"):
        if submission_approve(submission=submission, by=by):
            approved += 1
        else:
            skipped += 1
    return approved, skipped


def submissions_reject(
    *, submissions: QuerySet[Submission], by: Any, reason: str
) -> tuple[int, int]:
    """Reject each with the same reason; return (rejected, skipped because already decided)."""
    reason = clean_reason(reason)
    rejected = skipped = 0
    for submission in submissions.order_by("created_at", "pk"):
        if submission_reject(submission=submission, by=by, reason=reason):
            rejected += 1
        else:
            skipped += 1
    return rejected, skipped


def moderation_queue() -> QuerySet[Submission]:
    """Pending first, oldest first: the order editors work through."""
    return Submission.objects.annotate(
        queue_rank=Case(
            When(status=Submission.Status.PENDING, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("queue_rank", "created_at", "pk")
