"""The group helpers the data migrations share, run on a historical registry as migrations do."""

import pytest
from django.contrib.auth.models import Group
from django.db.migrations.loader import MigrationLoader

from cms.migration_helpers import delete_group, grant_permissions, revoke_permissions

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def historical_apps():
    # What RunPython receives: the models as the migrations describe them, not the real ones.
    return MigrationLoader(None, ignore_no_migrations=True).project_state().apps


def codenames(name: str) -> set[str]:
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


def test_grant_creates_the_group_with_exactly_the_listed_permissions(historical_apps):
    grant_permissions(
        historical_apps, "Reviewers", {"cms": {"article": ["view"], "submission": ["moderate"]}}
    )
    assert codenames("Reviewers") == {"view_article", "moderate_submission"}


def test_grant_adds_to_an_existing_group(historical_apps):
    grant_permissions(historical_apps, "Reviewers", {"cms": {"article": ["view"]}})
    grant_permissions(historical_apps, "Reviewers", {"cms": {"topic": ["view"]}})
    assert codenames("Reviewers") == {"view_article", "view_topic"}


def test_grant_refuses_a_permission_that_does_not_exist(historical_apps):
    with pytest.raises(LookupError, match="missing permissions for article"):
        grant_permissions(historical_apps, "Reviewers", {"cms": {"article": ["publish"]}})


def test_revoke_takes_only_the_listed_permissions(historical_apps):
    grant_permissions(historical_apps, "Reviewers", {"cms": {"article": ["view", "change"]}})
    revoke_permissions(historical_apps, "Reviewers", {"cms": {"article": ["change"]}})
    assert codenames("Reviewers") == {"view_article"}


def test_revoke_and_delete_of_a_missing_group_do_nothing(historical_apps):
    revoke_permissions(historical_apps, "Nobody", {"cms": {"article": ["view"]}})
    delete_group(historical_apps, "Nobody")
    assert not Group.objects.filter(name="Nobody").exists()


def test_delete_group_removes_it(historical_apps):
    grant_permissions(historical_apps, "Reviewers", {"cms": {"article": ["view"]}})
    delete_group(historical_apps, "Reviewers")
    assert not Group.objects.filter(name="Reviewers").exists()
