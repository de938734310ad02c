"""Load demo content shaped like the publisher's article page. Safe to run again and again."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.module_loading import import_string

from cms.history import audit_context

# Each app contributes its own demo loader; they run in this order in one transaction.
DEMO_LOADERS = [
    "cms.demo.load",
    "sponsors.demo.load",
    "sponsors.demo_countdowns.load",
    "sponsors.demo_ads.load",
    "sponsors.demo_partner.load",  # before demo_counts, which writes its live delivery
    "sponsors.demo_counts.load",
]


class Command(BaseCommand):
    help = "Load (or refresh) demo authors, topics and articles, and a demo admin login."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-password",
            help="Password for the demo 'admin' account (default 'admin' while DEBUG is on).",
        )

    def handle(self, *args, admin_password=None, **options):
        if admin_password is None:
            if not settings.DEBUG:
                raise CommandError(
                    "DEBUG is off: pass --admin-password so no guessable login is created."
                )
            admin_password = "admin"
        # The audit history names no user for these rows, and says where they came from.
        with transaction.atomic(), audit_context(reason="load_demo_data"):
            for loader in DEMO_LOADERS:
                for line in import_string(loader)(admin_password=admin_password):
                    self.stdout.write(line)
        if settings.OTP_REQUIRED:
            self.stdout.write(
                "Two-factor sign-in is required (OTP_REQUIRED): 'admin' and 'adops' set up an "
                "authenticator app at their first admin sign-in (README: Sign-in and security)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready. Admin: http://127.0.0.1:8000/admin/ "
                f"(user 'admin', password '{admin_password}'; editor: 'editor', same password). "
                "API: http://127.0.0.1:8000/api/v1/articles/  Docs: http://127.0.0.1:8000/api/docs/"
            )
        )
