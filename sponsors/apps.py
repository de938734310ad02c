from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_delete, post_save


class SponsorsConfig(AppConfig):
    name = "sponsors"
    verbose_name = "Sponsors and ads"

    def ready(self) -> None:
        # Imported here, not at the top: models can be imported only once apps are loaded.
        from cms import services as cms_services
        from cms.models import Topic
        from sponsors import receivers, sponsorships

        # Ad targeting is cached by topic slug: a renamed or deleted topic serves at once.
        post_save.connect(receivers.topic_changed, sender=Topic, dispatch_uid="sponsors.topic")
        post_delete.connect(receivers.topic_changed, sender=Topic, dispatch_uid="sponsors.topic")
        cms_services.register_publication_check(sponsorships.partner_publication_check)
        checks.register(user_agent_settings_check)


def user_agent_settings_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check`` refuses mistaken User-Agent verdict settings (at run time they
    are logged and ignored, so beacons keep answering)."""
    from sponsors.user_agents import settings_error  # imports settings: after app loading

    error = settings_error()
    return [checks.Error(error, id="sponsors.E001")] if error else []
