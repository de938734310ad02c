"""ReadOnlyAdminMixin: what an admin built on it lets even a superuser do."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from cms.admin_mixins import ReadOnlyAdminMixin
from cms.models import Article, ArticleTopic, Topic

pytestmark = pytest.mark.django_db


class ReadOnlyTopicAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class ReadOnlyTopicInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ArticleTopic


@pytest.fixture
def superuser_request():
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("root", password="x")
    return request


def test_a_read_only_admin_lets_a_superuser_view_but_not_add_change_or_delete(
    superuser_request,
):
    model_admin = ReadOnlyTopicAdmin(Topic, admin.site)
    assert model_admin.has_view_permission(superuser_request)
    assert not model_admin.has_add_permission(superuser_request)
    assert not model_admin.has_change_permission(superuser_request)
    assert not model_admin.has_delete_permission(superuser_request)
    assert "delete_selected" not in model_admin.get_actions(superuser_request)


def test_a_read_only_inline_shows_rows_without_adding_or_deleting(superuser_request):
    inline = ReadOnlyTopicInline(Article, admin.site)
    assert inline.has_view_permission(superuser_request)
    assert not inline.has_add_permission(superuser_request, obj=None)
    assert not inline.has_change_permission(superuser_request)
    assert not inline.has_delete_permission(superuser_request)
