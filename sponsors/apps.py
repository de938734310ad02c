from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import m2m_changed, post_delete, post_save


class SponsorsConfig(AppConfig):
    name = "sponsors"
    verbose_name = "Sponsors and ads"

    def ready(self) -> None:
        # Imported here, not at the top: models can be imported only once apps are loaded.
        from cms import services as cms_services
        from sponsors import inventory_cache, receivers, sponsorships, versions

        # Cached payloads and the ad snapshot (targeting by topic slug) serve a save at once.
        for receiver, model in receivers.RECEIVERS:
            uid = f"sponsors.{receiver.__name__}.{model.__name__}"
            post_save.connect(receiver, sender=model, dispatch_uid=uid)
            post_delete.connect(receiver, sender=model, dispatch_uid=uid)
        for through in receivers.CREATIVE_LINKS:
            m2m_changed.connect(
                receivers.creative_links_changed,
                sender=through,
                dispatch_uid=f"sponsors.creative_links_changed.{through.__name__}",
            )
        cms_services.register_publication_check(sponsorships.partner_publication_check)
        # A committed inventory change builds its snapshot in the saving process.
        if inventory_cache.saver_builds not in versions.after_inventory_commit:
            versions.after_inventory_commit.append(inventory_cache.saver_builds)
        checks.register(user_agent_settings_check)
        checks.register(cdn_settings_check)


def user_agent_settings_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check`` refuses mistaken User-Agent verdict settings (at run time they
    are logged and ignored, so beacons keep answering)."""
    from sponsors.user_agents import settings_error  # imports settings: after app loading

    error = settings_error()
    return [checks.Error(error, id="sponsors.E001")] if error else []


def cdn_settings_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """``manage.py check`` refuses CDN purge settings that could not purge anything."""
    from sponsors.purgers import settings_error  # imports settings: after app loading

    error = settings_error()
    return [checks.Error(error, id="sponsors.E002")] if error else []
