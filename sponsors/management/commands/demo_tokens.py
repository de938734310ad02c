"""Print the API tokens of the demo's partner and ad-ops logins, one ``NAME=key`` a line.

For scripts that call the API as those logins (``.ci/fuzz.py`` runs schemathesis as each):
``load_demo_data`` makes both logins and their tokens; this reads them (or makes the token
again if someone deleted it) without touching anything else.
"""

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

# Printed name -> the demo login (sponsors.demo and sponsors.demo_ads make them).
DEMO_LOGINS = {"PARTNER_TOKEN": "partner", "ADOPS_TOKEN": "adops"}


class Command(BaseCommand):
    help = "Print the API tokens of the demo logins 'partner' and 'adops' (NAME=key lines)."

    def handle(self, *args, **options):
        for name, username in DEMO_LOGINS.items():
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(f"No demo login '{username}': run load_demo_data first.")
            token, _ = Token.objects.get_or_create(user=user)
            self.stdout.write(f"{name}={token.key}")
