from rest_framework.routers import DefaultRouter

from cms.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("articles", views.ArticleViewSet, basename="article")
router.register("topics", views.TopicViewSet, basename="topic")
router.register("authors", views.AuthorViewSet, basename="author")

urlpatterns = router.urls
