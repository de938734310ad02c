import factory

from sponsors.models import Sponsor


class SponsorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sponsor

    name = factory.Sequence(lambda n: f"Sponsor {n}")
    description = "A sponsor of the demo."
    website_url = "https://sponsor.example.com/"
