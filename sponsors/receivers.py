"""Receivers of saves that change what is cached: the ad snapshot and the public payloads.

Cache invalidation only (connected in ``SponsorsConfig.ready()``); business rules live in
services.

Public payloads (``cms.api.payloads``) carry the surrogate keys of what they show. A save
or delete of an article, its blocks or topic links, a topic, an author, a sponsor, a
sponsorship, a disclosure label or a countdown and its phases calls :func:`invalidate`
with the keys it touches:

- an article (and its blocks and topic links): ``article-<id>``, its author's and topics'
  keys (their lists gain or lose it), its own sponsorships' sponsors, and ``articles``;
- a topic, an author, a sponsor: its own key and its collection (``topics``, ...);
- a sponsorship: its sponsor, label, article or topic, and ``articles``;
- a label: ``label-<id>``; a countdown or phase: ``countdown-<slug>``.

An object that leaves a list is found by its own key (the list carried it); one that joins
a list is found by the key of the list's owner or collection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from cms.models import Article, ArticleBlock, ArticleTopic, Author, Topic
from sponsors import purgers, versions
from sponsors.models import (
    Countdown,
    Creative,
    DeadlinePhase,
    DisclosureLabel,
    Sponsor,
    Sponsorship,
)

key = versions.surrogate


class _Pending(threading.local):
    keys: set[str] | None = None


_pending = _Pending()


def invalidate(keys: Iterable[str]) -> None:
    """Bump the versions of ``keys`` now and at the commit, then tell the CDN purger once.

    The keys of one transaction are gathered: its commit bumps and purges them together (a
    rollback drops them with the transaction's commit callbacks).
    """
    wanted = set(keys)
    if not wanted:
        return
    versions.bump_now(*_names(wanted), timeout=versions.KEY_TIMEOUT)
    pending = transaction.get_connection().run_on_commit  # (savepoints, callback, robust)
    if _pending.keys is not None and any(entry[1] is _flush for entry in pending):
        _pending.keys |= wanted
        return
    _pending.keys = wanted
    transaction.on_commit(_flush)


def _names(keys: set[str]) -> list[str]:
    return [versions.key_version(k) for k in sorted(keys)] + [versions.CONTENT]


def _flush() -> None:
    keys, _pending.keys = _pending.keys, None
    if not keys:
        return  # an earlier callback of this transaction flushed them
    versions.bump_now(*_names(keys), timeout=versions.KEY_TIMEOUT)
    purgers.purge(sorted(keys))


def invalidate_all() -> None:
    """Drop every public payload (after bulk loads that send no signals)."""
    versions.bump(versions.CONTENT_ALL, versions.CONTENT)


def article_keys(article_id: int, *, author_id: int | None = None, lookup: bool = True) -> set[str]:
    """The keys a change of article ``article_id`` invalidates (two or three queries)."""
    keys = {key("article", article_id), versions.ARTICLES}
    if lookup and author_id is None:
        author_id = (
            Article.objects.filter(pk=article_id).values_list("author_id", flat=True).first()
        )
    if author_id is not None:
        keys.add(key("author", author_id))
    topics = ArticleTopic.objects.filter(article_id=article_id).values_list("topic_id", flat=True)
    keys.update(key("topic", topic_id) for topic_id in topics)
    sponsors = Sponsorship.objects.filter(article_id=article_id).values_list(
        "sponsor_id", flat=True
    )
    keys.update(key("sponsor", sponsor_id) for sponsor_id in sponsors)
    return keys


# --- Receivers (connected in SponsorsConfig.ready()) ----------------------------------------


def topic_changed(sender: type, instance: Topic, **kwargs: Any) -> None:
    """A topic saved or deleted: the ad snapshot targets by topic slug, so rebuild it; its
    name shows on every article card of the topic."""
    versions.bump(versions.INVENTORY)
    invalidate({key("topic", instance.pk), versions.TOPICS})


def article_changed(sender: type, instance: Article, **kwargs: Any) -> None:
    invalidate(article_keys(instance.pk, author_id=instance.author_id, lookup=False))


def article_part_changed(
    sender: type, instance: ArticleBlock | ArticleTopic, **kwargs: Any
) -> None:
    """A body block or topic link saved or deleted (its article may be going too)."""
    keys = article_keys(instance.article_id)
    if isinstance(instance, ArticleTopic):
        keys.add(key("topic", instance.topic_id))
    invalidate(keys)


def author_changed(sender: type, instance: Author, **kwargs: Any) -> None:
    invalidate({key("author", instance.pk), versions.AUTHORS})


def sponsor_changed(sender: type, instance: Sponsor, **kwargs: Any) -> None:
    invalidate({key("sponsor", instance.pk), versions.SPONSORS})


def sponsorship_changed(sender: type, instance: Sponsorship, **kwargs: Any) -> None:
    keys = {key("sponsor", instance.sponsor_id), key("label", instance.label_id), versions.ARTICLES}
    if instance.article_id is not None:
        keys.add(key("article", instance.article_id))
    if instance.topic_id is not None:
        keys.add(key("topic", instance.topic_id))
    invalidate(keys)


def label_changed(sender: type, instance: DisclosureLabel, **kwargs: Any) -> None:
    invalidate({key("label", instance.pk)})


def countdown_changed(sender: type, instance: Countdown | DeadlinePhase, **kwargs: Any) -> None:
    """The model already bumped the countdown's version; this tells the CDN too."""
    slug: str | None
    if isinstance(instance, Countdown):
        slug = instance.slug
    else:
        slug = (
            Countdown.objects.filter(pk=instance.countdown_id)
            .values_list("slug", flat=True)
            .first()
        )
    if slug:
        invalidate({key("countdown", slug)})


def creative_links_changed(sender: type, action: str, **kwargs: Any) -> None:
    """A creative's slots or targeted topics changed: a new inventory snapshot. Its own save
    bumps the version, but links set after that save (outside a transaction: a command, a
    shell) would otherwise never reach the snapshot already built for it."""
    if action in ("post_add", "post_remove", "post_clear"):
        versions.bump(versions.INVENTORY)


# The link tables of ``Creative``: what the decision reads besides the creative's own row.
CREATIVE_LINKS = [
    Creative.slots.through,
    Creative.include_topics.through,
    Creative.exclude_topics.through,
]

RECEIVERS: list[tuple[Any, type]] = [
    (topic_changed, Topic),
    (article_changed, Article),
    (article_part_changed, ArticleBlock),
    (article_part_changed, ArticleTopic),
    (author_changed, Author),
    (sponsor_changed, Sponsor),
    (sponsorship_changed, Sponsorship),
    (label_changed, DisclosureLabel),
    (countdown_changed, Countdown),
    (countdown_changed, DeadlinePhase),
]
