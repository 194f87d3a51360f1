"""Times in the reader's time zone: the one their browser reported in the ``tz`` cookie
(``order_messages/time_zone.js`` sets it), else the store's (TIME_ZONE). Opt in with
``order_messages.time_zone.BrowserTimeZoneMiddleware`` in MIDDLEWARE and the script on the
store's pages; a store that keeps a time zone with its customers' accounts would rather
activate that one."""

import zoneinfo

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.utils import timezone

COOKIE = "tz"


def browser_zone(request) -> zoneinfo.ZoneInfo | None:
    name = request.COOKIES.get(COOKIE, "")
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    # Not a zone's name: ignored. OSError: with the tzdata package, a folder's name
    # ("Europe") is read as a file and fails as one.
    except (ValueError, OSError, zoneinfo.ZoneInfoNotFoundError):
        return None


class BrowserTimeZoneMiddleware:
    """Activates the browser's time zone for the request. Sync and async alike, so that the
    live stream (an async view) is not moved into a thread for it."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        self._activate(request)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    async def __acall__(self, request):
        self._activate(request)
        try:
            return await self.get_response(request)
        finally:
            timezone.deactivate()

    @staticmethod
    def _activate(request):
        zone = browser_zone(request)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
