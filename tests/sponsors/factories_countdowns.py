import datetime as dt

import factory

from sponsors.models import Countdown, DeadlinePhase


class CountdownFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Countdown

    title = factory.Sequence(lambda n: f"The Lantern Awards for Marketing {n}")
    time_zone = "Europe/London"
    closed_message = "Entries closed"


class DeadlinePhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeadlinePhase

    countdown = factory.SubFactory(CountdownFactory)
    label = "Deadline"
    deadline = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=dt.UTC)


def countdown_with_phases(*phases: tuple[str, dt.datetime], **fields) -> Countdown:
    """A countdown with the given (label, deadline) phases."""
    countdown = CountdownFactory(**fields)
    for label, deadline in phases:
        DeadlinePhaseFactory(countdown=countdown, label=label, deadline=deadline)
    return countdown
