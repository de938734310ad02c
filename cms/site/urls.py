"""The reference pages, mounted at the site's root (namespace ``site``)."""

from django.urls import path

from cms.site import views

app_name = "site"

urlpatterns = [
    path("", views.home, name="home"),
    path("articles/<slug:slug>/", views.article, name="article"),
    path("topics/<slug:slug>/", views.topic, name="topic"),
    path("authors/<slug:slug>/", views.author, name="author"),
    path("sponsors/<slug:slug>/", views.sponsor, name="sponsor"),
    path("insights/", views.insights, name="insights"),
    path("trending/", views.trending_page, name="trending"),
    # Staff: an article's page at a moment (drafts too), for the admin's preview.
    path("preview/articles/<int:pk>/", views.article_preview, name="article-preview"),
]
