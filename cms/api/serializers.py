"""Output serializers of the editorial read API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from cms.api.payloads import hole, register_hole, wants_holes
from cms.images import SafeImageFormField, rendition_urls
from cms.models import Article, ArticleBlock, Author, Topic
from sponsors.sponsorships import display_sponsorship
from sponsors.tracking import make_read_token


def read_url_hole(request: Any, article: Article) -> str:
    """The article detail's ``read_url`` as a hole: the beacon's absolute URL with the place
    of the token marked, so that each answer only signs a fresh token."""
    template = request.build_absolute_uri(reverse("api:reads-beacon", kwargs={"token": "-"}))
    return hole("read_url", f"{article.pk} {template}")


def read_url_filler(request: Any, argument: str, now: float) -> str:
    """A fresh read beacon per answer of the article detail (its page view's token)."""
    article_id, template = argument.split(" ", 1)
    return template.replace("/-/", f"/{make_read_token(int(article_id))}/")


register_hole("read_url", read_url_filler)


class RenditionSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="original, thumbnail, medium or large.")
    url = serializers.URLField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class ImageUploadField(serializers.FileField):
    """A multipart image upload, checked by the admin's own form field for images
    (``SafeImageFormField``): the same rules and the same reasons as every upload path."""

    def to_internal_value(self, data):
        upload = super().to_internal_value(data)  # a file at all (name, size), or a 400
        try:
            return SafeImageFormField(required=False).clean(upload)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class ImageSerializer(serializers.Serializer):
    alt = serializers.CharField(allow_blank=True)
    caption = serializers.CharField(allow_blank=True)
    renditions = RenditionSerializer(many=True)


def image_data(renditions: dict, *, alt: str, caption: str, request: Any) -> dict | None:
    if not renditions:
        return None
    return {"alt": alt, "caption": caption, "renditions": rendition_urls(renditions, request)}


def absolute(request: Any, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


PAGE_URL_HELP = (
    "This object's page on the reference site (`SITE_PAGE_BASE_URL`: another front end's "
    "base, else this server's)."
)


def page_url(request: Any, name: str, slug: str | None = None) -> str:
    """The page of an object (or, without ``slug``, a list) on the reference site
    (``site:<name>``), under ``SITE_PAGE_BASE_URL`` when another front end serves the pages,
    else on this host."""
    path = reverse(f"site:{name}", kwargs={"slug": slug} if slug is not None else None)
    base = getattr(settings, "SITE_PAGE_BASE_URL", "")
    return f"{base.rstrip('/')}{path}" if base else absolute(request, path)


class PageUrlMixin:
    """``page_url`` beside the API's ``url``: the object's reference page (``page_name``)."""

    page_name = ""

    @extend_schema_field(OpenApiTypes.URI)
    def get_page_url(self, obj: Any) -> str:
        return page_url(self.context.get("request"), self.page_name, obj.slug)  # type: ignore[attr-defined]  # a serializer's context


class TopicSerializer(PageUrlMixin, serializers.ModelSerializer):
    articles_url = serializers.SerializerMethodField(help_text="The topic's articles (View all).")
    page_url = serializers.SerializerMethodField(help_text=PAGE_URL_HELP)
    page_name = "topic"

    class Meta:
        model = Topic
        fields = ["name", "slug", "description", "articles_url", "page_url"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_articles_url(self, topic: Topic) -> str:
        return absolute(
            self.context.get("request"), reverse("api:topic-articles", kwargs={"slug": topic.slug})
        )


class TopicSummarySerializer(TopicSerializer):
    class Meta(TopicSerializer.Meta):
        fields = ["name", "slug", "articles_url", "page_url"]


class AuthorSerializer(PageUrlMixin, serializers.ModelSerializer):
    photo = serializers.SerializerMethodField()
    articles_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField(help_text=PAGE_URL_HELP)
    page_name = "author"

    class Meta:
        model = Author
        fields = ["name", "slug", "role", "region", "photo", "articles_url", "page_url"]

    @extend_schema_field(ImageSerializer(allow_null=True))
    def get_photo(self, author: Author) -> dict | None:
        return image_data(
            author.photo_renditions,
            alt=author.name,
            caption="",
            request=self.context.get("request"),
        )

    @extend_schema_field(OpenApiTypes.URI)
    def get_articles_url(self, author: Author) -> str:
        return absolute(
            self.context.get("request"),
            reverse("api:author-articles", kwargs={"slug": author.slug}),
        )


# The sponsor block ("Content created with: TikTok", logo, description, "Find out more").


class SponsorSummarySerializer(PageUrlMixin, serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.SlugField()
    url = serializers.SerializerMethodField(help_text="The sponsor's profile in this API.")
    page_url = serializers.SerializerMethodField(help_text=PAGE_URL_HELP)
    page_name = "sponsor"
    logo = serializers.SerializerMethodField(
        help_text="Logo renditions (PNG/WebP keep their transparency), or null."
    )
    description = serializers.CharField(
        allow_blank=True, help_text="Sanitized inline HTML (b, strong, i, em, a, br)."
    )
    website_url = serializers.SerializerMethodField(
        help_text="Where “Find out more” links to (http or https), or null."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, sponsor) -> str:
        return absolute(
            self.context.get("request"),
            reverse("api:sponsor-detail", kwargs={"slug": sponsor.slug}),
        )

    @extend_schema_field(ImageSerializer(allow_null=True))
    def get_logo(self, sponsor) -> dict | None:
        return image_data(
            sponsor.logo_renditions,
            alt=f"{sponsor.name} logo",
            caption="",
            request=self.context.get("request"),
        )

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_website_url(self, sponsor) -> str | None:
        return sponsor.website_url or None


class SponsorshipSerializer(serializers.Serializer):
    label = serializers.CharField(source="label.text", help_text='For example "Sponsored by".')  # type: ignore[assignment]  # a field: DRF takes it out of the class
    sponsor = SponsorSummarySerializer()


class ArticleListSerializer(PageUrlMixin, serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField(help_text=PAGE_URL_HELP)
    page_name = "article"
    author = AuthorSerializer(allow_null=True)
    topics = serializers.SerializerMethodField()
    hero = serializers.SerializerMethodField()
    sponsorship = serializers.SerializerMethodField(
        help_text="The sponsor block to show with the article, or null. At most one: a live "
        "sponsorship of the article itself wins over one of its topics (main topic first); "
        "an ended sponsorship no longer shows."
    )

    class Meta:
        model = Article
        fields = [
            "slug",
            "url",
            "page_url",
            "headline",
            "standfirst",
            "kind",
            "published_at",
            "reading_minutes",
            "author",
            "topics",
            "hero",
            "sponsorship",
        ]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, article: Article) -> str:
        return absolute(self.context.get("request"), article.get_absolute_url())

    @extend_schema_field(TopicSummarySerializer(many=True))
    def get_topics(self, article: Article) -> list[dict]:
        # article_topics is prefetched in order; the first is the article's main topic.
        topics = [link.topic for link in article.article_topics.all()]
        return TopicSummarySerializer(topics, many=True, context=self.context).data  # type: ignore[return-value]  # many=True: a list

    @extend_schema_field(ImageSerializer(allow_null=True))
    def get_hero(self, article: Article) -> dict | None:
        return image_data(
            article.hero_renditions,
            alt=article.hero_alt,
            caption=article.hero_caption,
            request=self.context.get("request"),
        )

    @extend_schema_field(SponsorshipSerializer(allow_null=True))
    def get_sponsorship(self, article: Article) -> dict | None:
        sponsorship = display_sponsorship(article)
        if sponsorship is None:
            return None
        return SponsorshipSerializer(sponsorship, context=self.context).data


# Body blocks: one shape per kind, told apart by "type".


class ParagraphBlockSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["paragraph"])
    html = serializers.CharField(help_text="Sanitized inline HTML (b, strong, i, em, a, br).")


class HeadingBlockSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["heading"])
    text = serializers.CharField()


class QuoteBlockSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["quote"])
    html = serializers.CharField(help_text="Sanitized inline HTML.")
    attribution = serializers.CharField(allow_blank=True)


class ListBlockSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["list"])
    items = serializers.ListField(child=serializers.CharField())


class ImageBlockSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["image"])
    image = ImageSerializer()


BLOCK_SCHEMA = PolymorphicProxySerializer(
    component_name="BodyBlock",
    serializers={
        "paragraph": ParagraphBlockSerializer,
        "heading": HeadingBlockSerializer,
        "quote": QuoteBlockSerializer,
        "list": ListBlockSerializer,
        "image": ImageBlockSerializer,
    },
    resource_type_field_name="type",
    many=True,
)


def block_data(block: ArticleBlock, request: Any) -> dict:
    kind = block.kind
    if kind == ArticleBlock.Kind.PARAGRAPH:
        return {"type": kind, "html": block.text}
    if kind == ArticleBlock.Kind.HEADING:
        return {"type": kind, "text": block.text}
    if kind == ArticleBlock.Kind.QUOTE:
        return {"type": kind, "html": block.text, "attribution": block.attribution}
    if kind == ArticleBlock.Kind.LIST:
        return {"type": kind, "items": block.list_items()}
    return {
        "type": kind,
        "image": image_data(
            block.image_renditions, alt=block.alt_text, caption=block.caption, request=request
        )
        or {"alt": block.alt_text, "caption": block.caption, "renditions": []},
    }


class MoreFromSerializer(serializers.Serializer):
    topic = TopicSummarySerializer()
    articles = ArticleListSerializer(many=True)


class ArticleDetailSerializer(ArticleListSerializer):
    body = serializers.SerializerMethodField()
    more_from = serializers.SerializerMethodField(
        help_text='"More from <topic>": other live articles of the main topic, or null.'
    )
    read_url = serializers.SerializerMethodField(
        help_text="The read beacon of this page view: call it (GET, or POST with "
        "`navigator.sendBeacon`) once the article is shown; it counts one read of the "
        "article (trending). A fresh token in every answer, valid for `ADS_READ_MAX_AGE` "
        "(default 6 hours)."
    )

    class Meta(ArticleListSerializer.Meta):
        fields = [*ArticleListSerializer.Meta.fields, "body", "more_from", "read_url"]

    @extend_schema_field(BLOCK_SCHEMA)
    def get_body(self, article: Article) -> list[dict]:
        request = self.context.get("request")
        return [block_data(block, request) for block in article.blocks.all()]

    @extend_schema_field(OpenApiTypes.URI)
    def get_read_url(self, article: Article) -> str:
        request = self.context.get("request")
        if wants_holes(request):  # a stored payload: each answer gets its own token
            return read_url_hole(request, article)
        # No query: a random page-view id signed with a key derived once per process.
        token = make_read_token(article.pk)
        return absolute(
            self.context.get("request"), reverse("api:reads-beacon", kwargs={"token": token})
        )

    @extend_schema_field(MoreFromSerializer(allow_null=True))
    def get_more_from(self, article: Article) -> dict | None:
        more = self.context.get("more_from")
        if more is None:
            return None
        topic, articles = more
        return {
            "topic": TopicSummarySerializer(topic, context=self.context).data,
            "articles": ArticleListSerializer(articles, many=True, context=self.context).data,
        }
