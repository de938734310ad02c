"""Sponsor profiles: who pays for content and how they are shown."""

from __future__ import annotations

from django.db import models

from cms.images import SafeImageField, refresh_renditions
from cms.models import unique_slug


class Sponsor(models.Model):
    """A company whose profile appears on content it sponsors ("Content created with: TikTok")."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True, blank=True)
    logo = SafeImageField(upload_to="sponsors/", blank=True)
    logo_renditions = models.JSONField(default=dict, blank=True, editable=False)
    description = models.TextField(blank=True)
    website_url = models.URLField(
        "Find out more URL", blank=True, help_text="Where “Find out more” links to."
    )
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = unique_slug(Sponsor, self.name, instance_pk=self.pk)
        super().save(*args, **kwargs)
        refresh_renditions(self, "logo", "logo_renditions")
