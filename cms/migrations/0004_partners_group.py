"""Create the "Partners" group and give editors what moderation needs.

Partners (sponsors' staff) submit content and see their own submissions; they never get admin
access, so their permissions only matter to the submissions API and form. Editors moderate
submissions (view + approve/reject) and can see the sponsors, labels and sponsorships that
partner articles are published under; ad-ops staff manage those.
"""

from django.db import migrations

from cms.migration_helpers import delete_group, grant_permissions, revoke_permissions

PARTNER_PERMISSIONS = {
    "cms": {"submission": ["add", "change", "delete", "view"]},
}

EDITOR_PERMISSIONS = {
    "cms": {"submission": ["view", "moderate"]},
    "sponsors": {"sponsor": ["view"], "sponsorship": ["view"], "disclosurelabel": ["view"]},
}


def create_groups(apps, schema_editor):
    grant_permissions(apps, "Partners", PARTNER_PERMISSIONS)
    grant_permissions(apps, "Editors", EDITOR_PERMISSIONS)


def remove_groups(apps, schema_editor):
    delete_group(apps, "Partners")
    revoke_permissions(apps, "Editors", EDITOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0003_submissions"),
        ("sponsors", "0002_sponsorships"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
