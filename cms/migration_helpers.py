"""Helpers for the data migrations that set up auth groups (cms and sponsors).

Old migrations import this module for as long as they exist, so it works only through the
historical ``apps`` registry each migration is given, never through the real models: a
later change of a model must not change what an old migration does.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.management import create_permissions

# app label -> model name -> verbs, e.g. {"cms": {"article": ["add", "change", "view"]}}
PermissionMap = dict[str, dict[str, list[str]]]


def create_all_permissions(apps: Any) -> None:
    """Create the permissions of every model of the historical ``apps`` now.

    Django creates permissions after all migrations have run (``post_migrate``); a migration
    that grants them needs them earlier.
    """
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def _each_model_permissions(apps: Any, permissions: PermissionMap):
    Permission = apps.get_model("auth", "Permission")
    for app_label, models in permissions.items():
        for model, verbs in models.items():
            codenames = [f"{verb}_{model}" for verb in verbs]
            found = Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
            yield model, codenames, found


def grant_permissions(apps: Any, group_name: str, permissions: PermissionMap) -> None:
    """Add these permissions to the group, creating the group if it does not exist.

    Raises ``LookupError`` if one does not exist, so a misspelt verb or model fails the
    migration instead of silently granting less.
    """
    create_all_permissions(apps)
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.get_or_create(name=group_name)
    for model, codenames, found in _each_model_permissions(apps, permissions):
        if found.count() != len(codenames):
            raise LookupError(f"missing permissions for {model}: {codenames}")
        group.permissions.add(*found)


def revoke_permissions(apps: Any, group_name: str, permissions: PermissionMap) -> None:
    """Take these permissions from the group, if the group exists (undoes a grant)."""
    group = apps.get_model("auth", "Group").objects.filter(name=group_name).first()
    if group is None:
        return
    for _model, _codenames, found in _each_model_permissions(apps, permissions):
        group.permissions.remove(*found)


def delete_group(apps: Any, group_name: str) -> None:
    """Delete the group (its members keep their accounts, without its permissions)."""
    apps.get_model("auth", "Group").objects.filter(name=group_name).delete()
