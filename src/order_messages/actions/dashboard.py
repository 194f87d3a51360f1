from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ..models import DashboardSeen


def mark_dashboard_seen(*, user, at: dt.datetime | None = None) -> None:
    """Remember that ``user`` has seen the dashboard as of ``at`` (default: now), so the
    disputes opened until then are no longer announced as new. Never moves back in time,
    so an older tab reloading late cannot bring old alerts back."""
    now = timezone.now()
    # A client's clock may run fast: a time to come would hide the alerts of every dispute
    # opened until then.
    at = min(at, now) if at is not None else now
    updated = DashboardSeen.objects.filter(pk=user.pk, disputes_seen_at__lt=at).update(
        disputes_seen_at=at
    )
    if not updated:  # no row yet, or already as recent (get_or_create handles the race)
        DashboardSeen.objects.get_or_create(user=user, defaults={"disputes_seen_at": at})
