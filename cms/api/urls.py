from rest_framework.routers import DefaultRouter

from cms.api import pages, views
from cms.api.submissions import SubmissionViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("articles", views.ArticleViewSet, basename="article")
router.register("topics", views.TopicViewSet, basename="topic")
router.register("authors", views.AuthorViewSet, basename="author")
router.register("pages/articles", pages.ArticlePageViewSet, basename="page-article")
router.register("submissions", SubmissionViewSet, basename="submission")

urlpatterns = router.urls
