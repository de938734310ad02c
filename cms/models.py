"""Editorial models: authors, topics, articles and their body blocks."""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from cms import history
from cms.history import AuditedHistory, AuditRecord
from cms.images import SafeImageField, refresh_renditions
from cms.querysets import ArticleQuerySet, TopicQuerySet
from cms.sanitize import clean_plain_text, clean_rich_text

WORDS_PER_MINUTE = 200
_WORD = re.compile(r"[\w’'-]+", re.UNICODE)
_TAG = re.compile(r"<[^>]+>")


def count_words(*texts: str) -> int:
    return sum(len(_WORD.findall(_TAG.sub(" ", text or ""))) for text in texts)


def reading_minutes_for(words: int) -> int:
    """Whole minutes to read ``words`` words, never less than one."""
    return max(1, math.ceil(words / WORDS_PER_MINUTE))


def unique_slug(model: type[models.Model], text: str, *, instance_pk=None, max_length=80) -> str:
    """A slug from ``text`` not used by another row of ``model`` (``-2``, ``-3``... appended)."""
    base = slugify(text)[:max_length].strip("-") or "item"
    slug, n = base, 2
    others = model._base_manager.exclude(pk=instance_pk)
    while others.filter(slug=slug).exists():
        suffix = f"-{n}"
        slug = base[: max_length - len(suffix)] + suffix
        n += 1
    return slug


class AutoSlugMixin(models.Model):
    """Fills an empty ``slug`` on save with a unique slug made from the ``slug_source`` field.

    A slug once set is kept, so an address stays the same when the name changes. The model
    declares its own ``slug`` field, whose ``max_length`` bounds the slug made. Abstract and
    without fields: a model using it keeps its table as it is.
    """

    slug_source: str  # the field the slug is made from, e.g. "name"
    slug: str  # each model declares its own SlugField

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            field = self._meta.get_field("slug")
            assert isinstance(field, models.SlugField)
            self.slug = unique_slug(
                field.model,
                getattr(self, self.slug_source),
                instance_pk=self.pk,
                max_length=field.max_length,
            )
        super().save(*args, **kwargs)


class Author(AutoSlugMixin, models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True, blank=True)
    slug_source = "name"
    role = models.CharField(max_length=80, blank=True, help_text='For example "Reporter".')
    region = models.CharField(max_length=80, blank=True, help_text='For example "Asia Pacific".')
    photo = SafeImageField(upload_to="authors/", blank=True)
    photo_renditions = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def byline(self) -> str:
        """'Shawn Lim, Reporter, Asia Pacific' — the parts that are set."""
        return ", ".join(part for part in (self.name, self.role, self.region) if part)

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        refresh_renditions(self, "photo", "photo_renditions")


class Topic(AutoSlugMixin, models.Model):
    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True, blank=True)
    slug_source = "name"
    description = models.TextField(blank=True)

    objects = TopicQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def record_body_change(article: Article) -> None:
    """Record that an article changed when its body blocks or topics do, unless the save is
    part of one that records the article itself (the admin's form, an approval)."""
    if not hasattr(article, "skip_history_when_saving"):
        history.record(article)


class ArticleTopic(models.Model):
    """An article's topic, in the order the editor chose: the first is its main topic.

    Declared before ``Article``: its history keeps the topics through this model.
    """

    article = models.ForeignKey("Article", on_delete=models.CASCADE, related_name="article_topics")
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="article_topics")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["article", "topic"], name="article_topic_once"),
        ]
        verbose_name = "topic"

    def __str__(self) -> str:
        return self.topic.name

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        record_body_change(self.article)

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        record_body_change(self.article)
        return result


class ArticleAuditRecord(AuditRecord):
    """An article's history row also keeps its body, which lives in its own rows."""

    body = models.TextField(blank=True, help_text="The body blocks as text, in order.")

    class Meta:
        abstract = True


class Article(AutoSlugMixin, models.Model):
    class Kind(models.TextChoices):
        NEWS = "news", "News"
        OPINION = "opinion", "Opinion"
        PARTNER = "partner", "Partner content"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    headline = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=80,
        unique=True,
        blank=True,
        help_text="Part of the article's address; keep it once the article is public.",
    )
    slug_source = "headline"
    standfirst = models.TextField(blank=True, help_text="The short summary under the headline.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NEWS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text="When readers can first see it. A future time schedules the article.",
    )
    author = models.ForeignKey(
        Author, on_delete=models.PROTECT, related_name="articles", null=True, blank=True
    )
    topics = models.ManyToManyField(
        Topic, through=ArticleTopic, related_name="articles", blank=True
    )
    hero_image = SafeImageField(upload_to="articles/", blank=True)
    hero_caption = models.CharField(max_length=300, blank=True)
    hero_alt = models.CharField(
        "hero alt text",
        max_length=300,
        blank=True,
        help_text="Describes the image for screen readers.",
    )
    hero_renditions = models.JSONField(default=dict, blank=True, editable=False)
    reading_minutes = models.PositiveSmallIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ArticleQuerySet.as_manager()
    # Who changed what: the fields, the topics (in order) and the body as text. Renditions
    # are derived from the image and written after the row, so they are not kept.
    history = AuditedHistory(
        excluded_fields=["hero_renditions"], m2m_fields=["topics"], bases=[ArticleAuditRecord]
    )
    history_snapshot_fields = ("body",)

    class Meta:
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="article_public_states_have_time",
                condition=~models.Q(status__in=["scheduled", "published"])
                | models.Q(published_at__isnull=False),
                violation_error_message="Scheduled and published articles need a publication time.",
            ),
        ]
        indexes = [models.Index(fields=["status", "published_at"])]

    def __str__(self) -> str:
        return self.headline

    def get_absolute_url(self) -> str:
        return reverse("api:article-detail", kwargs={"slug": self.slug})

    def clean(self) -> None:
        if self.status in (self.Status.SCHEDULED, self.Status.PUBLISHED) and not self.published_at:
            if self.status == self.Status.PUBLISHED:
                self.published_at = timezone.now()
            else:
                raise ValidationError(
                    {"published_at": "Give the time at which this article should go live."},
                    code="schedule_needs_time",
                )

    def is_live(self, at=None) -> bool:
        at = at or timezone.now()
        return (
            self.status in (self.Status.SCHEDULED, self.Status.PUBLISHED)
            and self.published_at is not None
            and self.published_at <= at
        )

    def history_snapshot(self) -> dict[str, str]:
        """What the audit history keeps of the body: each block as text, in order."""
        if not self.pk:
            return {"body": ""}
        parts = []
        for block in ArticleBlock.objects.filter(article_id=self.pk).order_by("position", "pk"):
            extras = [
                f"{name}: {value}"
                for name, value in (
                    ("attribution", block.attribution),
                    ("image", block.image.name if block.image else ""),
                    ("caption", block.caption),
                    ("alt text", block.alt_text),
                )
                if value
            ]
            parts.append(" | ".join([f"[{block.get_kind_display()}] {block.text}", *extras]))
        return {"body": "\n\n".join(parts)}

    def compute_reading_minutes(self) -> int:
        texts = [self.headline, self.standfirst]
        if self.pk:
            texts.extend(self.blocks.values_list("text", flat=True))
        return reading_minutes_for(count_words(*texts))

    def refresh_reading_time(self) -> None:
        """Recount reading time from the stored body and save it (blocks call this on change)."""
        self.reading_minutes = self.compute_reading_minutes()
        Article.objects.filter(pk=self.pk).update(reading_minutes=self.reading_minutes)

    def save(self, *args, **kwargs) -> None:
        if self.status == self.Status.PUBLISHED and not self.published_at:
            self.published_at = timezone.now()
        self.standfirst = clean_plain_text(self.standfirst)
        self.reading_minutes = self.compute_reading_minutes()
        super().save(*args, **kwargs)
        refresh_renditions(self, "hero_image", "hero_renditions")


class ArticleBlock(models.Model):
    """One block of an article's body, in order."""

    class Kind(models.TextChoices):
        PARAGRAPH = "paragraph", "Paragraph"
        HEADING = "heading", "Heading"
        QUOTE = "quote", "Pull quote"
        LIST = "list", "Bulleted list"
        IMAGE = "image", "Image"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="blocks")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PARAGRAPH)
    text = models.TextField(
        blank=True,
        help_text=(
            "Paragraph, heading or quote text (bold, italics and links are kept). "
            "For a bulleted list, one item per line."
        ),
    )
    attribution = models.CharField(max_length=200, blank=True, help_text="Who is quoted.")
    image = SafeImageField(upload_to="articles/blocks/", blank=True)
    image_renditions = models.JSONField(default=dict, blank=True, editable=False)
    caption = models.CharField(max_length=300, blank=True)
    alt_text = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = "body block"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.position}"

    def clean(self) -> None:
        required: dict[str, tuple[str, str]] = {
            self.Kind.PARAGRAPH: ("text", "A paragraph needs text."),
            self.Kind.HEADING: ("text", "A heading needs text."),
            self.Kind.QUOTE: ("text", "A pull quote needs the quoted words."),
            self.Kind.IMAGE: ("image", "An image block needs an image."),
        }
        if self.kind in required:
            field, message = required[self.kind]
            if not getattr(self, field):
                raise ValidationError({field: message}, code="required")
        if self.kind == self.Kind.IMAGE and not self.alt_text:
            raise ValidationError(
                {"alt_text": "Describe the image for readers who cannot see it."}, code="required"
            )
        if self.kind == self.Kind.LIST and not self.list_items():
            raise ValidationError({"text": "A bulleted list needs at least one item."})

    def list_items(self) -> list[str]:
        """The bulleted items: one per non-empty line, leading bullets removed."""
        lines = (line.strip().lstrip("•*-–").strip() for line in (self.text or "").splitlines())
        return [line for line in lines if line]

    def save(self, *args, **kwargs) -> None:
        if self.kind in (self.Kind.PARAGRAPH, self.Kind.QUOTE):
            self.text = clean_rich_text(self.text)
        else:
            self.text = clean_plain_text(self.text)
        self.attribution = clean_plain_text(self.attribution)
        super().save(*args, **kwargs)
        refresh_renditions(self, "image", "image_renditions")
        self.article.refresh_reading_time()
        record_body_change(self.article)

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        self.article.refresh_reading_time()
        record_body_change(self.article)
        return result


# ---------------------------------------------------------------------------------------------
# Partner submissions ("Add your own content +"): a sponsor's proposed article, moderated by
# editors. The workflow (create, approve, reject) lives in cms/submissions.py.


class Submission(models.Model):
    """A partner's proposed article; approval turns it into a draft partner ``Article``.

    All text is stored sanitized: plain fields with every tag removed (HTML-escaped text),
    paragraph and quote blocks reduced to the inline subset of ``cms.sanitize``.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    sponsor = models.ForeignKey(
        "sponsors.Sponsor", on_delete=models.PROTECT, related_name="submissions"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
    )
    headline = models.CharField(max_length=200)
    standfirst = models.TextField(blank=True)
    body = models.JSONField(
        default=list,
        blank=True,
        help_text="Ordered blocks: paragraph, heading, quote (with attribution) or list (items).",
    )
    topics = models.ManyToManyField(Topic, through="SubmissionTopic", related_name="+", blank=True)
    hero_image = SafeImageField(upload_to="submissions/", blank=True)
    hero_renditions = models.JSONField(default=dict, blank=True, editable=False)
    hero_caption = models.CharField(max_length=300, blank=True)
    hero_alt = models.CharField("hero alt text", max_length=300, blank=True)
    word_count = models.PositiveIntegerField(default=0, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rejection_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    article = models.OneToOneField(
        Article,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submission",
        help_text="The draft partner article made on approval.",
    )
    created_at = models.DateTimeField("submitted at", auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("moderate_submission", "Can approve or reject partner submissions")]
        constraints = [
            models.CheckConstraint(
                name="submission_decision_has_time",
                condition=models.Q(status="pending") | models.Q(decided_at__isnull=False),
                violation_error_message="A decided submission needs the time of the decision.",
            ),
            models.CheckConstraint(
                name="submission_rejection_has_reason",
                condition=~models.Q(status="rejected") | ~models.Q(rejection_reason=""),
                violation_error_message="A rejection needs a reason.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["submitted_by", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.headline

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        refresh_renditions(self, "hero_image", "hero_renditions")


class SubmissionTopic(models.Model):
    """A submission's topic, in the partner's order (the first becomes the main topic)."""

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="submission_topics"
    )
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "topic"], name="submission_topic_once"),
        ]
        verbose_name = "topic"

    def __str__(self) -> str:
        return self.topic.name
