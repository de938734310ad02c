"""Every model with an address slug gets one from its name on first save (AutoSlugMixin)."""

import pytest

from cms.models import Article, Author, Topic
from sponsors.models import Countdown, DisclosureLabel, Sponsor

pytestmark = pytest.mark.django_db

# model, the field its slug is made from, its slug's max_length
SLUGGED = [
    (Author, "name", 80),
    (Topic, "name", 80),
    (Article, "headline", 80),
    (Sponsor, "name", 80),
    (DisclosureLabel, "text", 60),
    (Countdown, "title", 80),
]
IDS = [model.__name__ for model, _, _ in SLUGGED]


@pytest.mark.parametrize(("model", "source", "max_length"), SLUGGED, ids=IDS)
def test_a_new_row_gets_a_unique_slug_from_its_name(model, source, max_length):
    # Different names (some are unique), the same slug: the second one is numbered.
    first = model.objects.create(**{source: "Lantern Awards!"})
    second = model.objects.create(**{source: "Lantern Awards?"})
    assert (first.slug, second.slug) == ("lantern-awards", "lantern-awards-2")


@pytest.mark.parametrize(("model", "source", "max_length"), SLUGGED, ids=IDS)
def test_a_slug_is_kept_when_the_name_changes(model, source, max_length):
    row = model.objects.create(**{source: "Lantern Awards"})
    setattr(row, source, "Beacon Awards")
    row.save()
    row.refresh_from_db()
    assert row.slug == "lantern-awards"


@pytest.mark.parametrize(("model", "source", "max_length"), SLUGGED, ids=IDS)
def test_a_long_name_makes_a_slug_that_fits_its_field(model, source, max_length):
    longest = model._meta.get_field(source).max_length
    name = ("word " * 40)[: longest - 1]
    first = model.objects.create(**{source: name + "!"})
    second = model.objects.create(**{source: name + "?"})
    assert first.slug == "-".join(name.split())[:max_length].strip("-")
    assert second.slug == first.slug[: max_length - 2].strip("-") + "-2"
    assert len(second.slug) <= max_length


@pytest.mark.parametrize(("model", "source", "max_length"), SLUGGED, ids=IDS)
def test_a_slug_given_is_used_as_it_is(model, source, max_length):
    assert model.objects.create(**{source: "Lantern Awards", "slug": "lantern"}).slug == "lantern"
