from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Editorial"
    default = True  # the app "cms" (this module holds the admin's config too)


class StaffAdminConfig(admin_apps.AdminConfig):
    """The admin app, whose ``admin.site`` is the site with two-factor sign-in: every app
    keeps registering on ``admin.site``."""

    default = False
    default_site = "cms.admin_signin.StaffAdminSite"
