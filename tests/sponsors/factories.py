import factory
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token

from cms.models import Article, Submission
from sponsors.models import DisclosureLabel, Partner, Sponsor, Sponsorship
from tests.cms.factories import ArticleFactory


class SponsorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sponsor

    name = factory.Sequence(lambda n: f"Sponsor {n}")
    description = "A sponsor of the demo."
    website_url = "https://sponsor.example.com/"


def label(slug: str = "content-created-with") -> DisclosureLabel:
    """One of the labels the migration created ("Content created with", "Sponsored by"...)."""
    return DisclosureLabel.objects.get(slug=slug)


class SponsorshipFactory(factory.django.DjangoModelFactory):
    """An open-ended sponsorship of a (live news) article, labelled "Content created with"."""

    class Meta:
        model = Sponsorship

    sponsor = factory.SubFactory(SponsorFactory)
    label = factory.LazyFunction(label)
    article = factory.SubFactory(ArticleFactory)


def partner_article(sponsor: Sponsor | None = None, **kwargs) -> Article:
    """A live partner article with its own live sponsorship."""
    article = ArticleFactory(kind=Article.Kind.PARTNER, **kwargs)
    SponsorshipFactory(article=article, sponsor=sponsor or SponsorFactory())
    return article


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("a-long-test-password")


class PartnerFactory(factory.django.DjangoModelFactory):
    """A partner login in the Partners group, with an API token (``partner.user.auth_token``)."""

    class Meta:
        model = Partner
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    sponsor = factory.SubFactory(SponsorFactory)

    @factory.post_generation
    def setup(self, create, extracted, **kwargs):
        if create:
            self.user.groups.add(Group.objects.get(name="Partners"))
            Token.objects.get_or_create(user=self.user)


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    submitted_by = factory.LazyAttribute(lambda o: PartnerFactory().user)
    sponsor = factory.LazyAttribute(lambda o: o.submitted_by.partner.sponsor)
    headline = factory.Sequence(lambda n: f"Partner story {n}")
    standfirst = "What brands learned this year."
    body = factory.LazyFunction(
        lambda: [
            {"type": "paragraph", "text": "Words of a <b>first</b> paragraph."},
            {"type": "heading", "text": "A heading"},
            {"type": "quote", "text": "Something said.", "attribution": "Someone"},
            {"type": "list", "items": ["One", "Two"]},
        ]
    )


def editor_user(username: str = "editor", **kwargs) -> User:
    user = User.objects.create_user(username, is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name="Editors"))
    return user
