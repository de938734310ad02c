import pytest

from tests.cms.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_live_article_is_listed(api_client):
    article = ArticleFactory(headline="TikTok rejects an offer")
    response = api_client.get("/api/v1/articles/")
    assert response.status_code == 200
    assert [a["slug"] for a in response.json()["results"]] == [article.slug]
