import datetime as dt

import factory
from django.utils import timezone

from cms.models import Article, ArticleBlock, ArticleTopic, Author, Topic


class AuthorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Author

    name = factory.Sequence(lambda n: f"Author {n}")
    role = "Reporter"
    region = "Asia Pacific"


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Topic {n}")


class ArticleFactory(factory.django.DjangoModelFactory):
    """A live news article by default; pass status/published_at for other states."""

    class Meta:
        model = Article
        skip_postgeneration_save = True

    headline = factory.Sequence(lambda n: f"Headline number {n}")
    standfirst = "A short summary of the story."
    author = factory.SubFactory(AuthorFactory)
    status = Article.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if create and extracted:
            for position, topic in enumerate(extracted):
                ArticleTopic.objects.create(article=self, topic=topic, position=position)


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ArticleBlock

    article = factory.SubFactory(ArticleFactory)
    position = factory.Sequence(int)
    kind = ArticleBlock.Kind.PARAGRAPH
    text = "Some words of a paragraph."
