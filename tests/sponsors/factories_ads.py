"""Factories for ad inventory. Text creatives by default: they need no image files."""

import datetime as dt

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from sponsors.models import Campaign, Creative, Slot
from tests.images import image_bytes
from tests.sponsors.factories import SponsorFactory


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Slot
        django_get_or_create = ["key"]

    key = factory.Sequence(lambda n: f"slot-{n}")
    name = factory.LazyAttribute(lambda o: o.key.replace("-", " ").title())
    width = None
    height = None
    accepts_image = True
    accepts_text = True


class CampaignFactory(factory.django.DjangoModelFactory):
    """A live, standard-tier campaign with no goal and no cap."""

    class Meta:
        model = Campaign

    sponsor = factory.SubFactory(SponsorFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=9))
    tier = Campaign.Tier.STANDARD


class CreativeFactory(factory.django.DjangoModelFactory):
    """A text promo strip; pass ``slots=[...]``, ``include=[topics]``, ``exclude=[topics]``."""

    class Meta:
        model = Creative
        skip_postgeneration_save = True

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Creative {n}")
    kind = Creative.Kind.TEXT
    headline = "Enter the awards"
    body = "The deadline is near."
    cta_label = "Enter now"
    click_url = factory.Sequence(lambda n: f"https://advertiser.example.com/landing/{n}")
    weight = 1

    @factory.post_generation
    def slots(self, create, extracted, **kwargs):
        if create and extracted:
            self.slots.set(extracted)

    @factory.post_generation
    def include(self, create, extracted, **kwargs):
        if create and extracted:
            self.include_topics.set(extracted)

    @factory.post_generation
    def exclude(self, create, extracted, **kwargs):
        if create and extracted:
            self.exclude_topics.set(extracted)


class ImageCreativeFactory(CreativeFactory):
    kind = Creative.Kind.IMAGE
    headline = ""
    body = ""
    cta_label = ""
    alt_text = "A banner"

    class Params:
        size = (728, 90)

    image = factory.LazyAttribute(
        lambda o: SimpleUploadedFile("banner.png", image_bytes("PNG", size=o.size), "image/png")
    )
