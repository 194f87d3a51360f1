"""Where outgoing webhooks may go: public addresses, and the networks the store allows.

Store staff choose the URL, so without this check they could make the worker POST to the
store's own network (a database on 127.0.0.1, a cloud metadata service on 169.254.169.254)
and read the answers in the delivery log. A URL is checked when it is saved, for a clear
error, and again at delivery, against the address the worker then connects to: the name is
resolved once, every answer is checked, and the connection goes to a checked address, so
a DNS answer that changes between the check and the connection (DNS rebinding) gets
nowhere.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..conf import app_settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class DestinationRefused(Exception):
    """The URL leads to an address outgoing webhooks may not reach."""


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (tests put a table in its place)."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(entry, strict=False) for entry in app_settings.WEBHOOK_ALLOWED_NETWORKS
    ]


def refusal(address: Address) -> str | None:
    """Why ``address`` may not be reached, or None if it may."""
    # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return None
    for kind, refused in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # e.g. 100.64.0.0/10, shared by a carrier's NAT: neither private nor public.
        ("non-public", not address.is_global),
    ):
        if refused:
            return f"Destination not allowed: {kind} address."
    return None


def split_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; raises ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Only http and https URLs can receive webhooks.")
    return parts.scheme, parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def vetted_addresses(host: str, port: int) -> list[str]:
    """Resolve ``host`` once and return its addresses, all of them allowed.

    Raises DestinationRefused if any of them is not allowed (which one the system would
    pick is not ours to know), OSError if the name does not resolve."""
    try:
        literal = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        found = resolve(host, port)
    else:
        found = [str(literal)]
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    for address in found:
        # A scoped IPv6 answer ("fe80::1%eth0") is link-local anyway.
        reason = refusal(ipaddress.ip_address(address.split("%")[0]))
        if reason:
            raise DestinationRefused(reason)
    return found


def validate_webhook_url(url: str) -> None:
    """For the endpoint form: refuse a URL whose host is, or resolves to, an address that
    may not be reached. A name that does not resolve yet is accepted; the worker checks
    again before every delivery."""
    try:
        _scheme, host, port = split_url(url)
        vetted_addresses(host, port)
    except ValueError:
        return  # the URL validator says what is wrong with it
    except DestinationRefused as refused:
        raise ValidationError(
            _("%(reason)s Webhooks may only go to public addresses."),
            code="destination_not_allowed",
            params={"reason": str(refused)},
        ) from None
    except OSError:
        return


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to ``address``, whatever ``host`` resolves to now. The request's
    Host header still names ``host``."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        # http.client would resolve the host again; its answer might not be the one checked.
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As PinnedHTTPConnection, over TLS: the certificate is verified for ``host`` (SNI
    too), the connection made to ``address``."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def open_connection(url: str, *, timeout: float) -> http.client.HTTPConnection:
    """A connected HTTP(S) connection to the URL's host, at an address that was checked.

    Raises DestinationRefused before any packet leaves when the host is not allowed,
    ValueError for a URL that is not http(s), OSError when no address answers."""
    scheme, host, port = split_url(url)
    addresses = vetted_addresses(host, port)
    connection_class = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
    error = OSError("no address to connect to")
    for address in addresses:
        connection = connection_class(host, port, address=address, timeout=timeout)
        try:
            connection.connect()
        except OSError as failed:
            connection.close()
            error = failed
            continue
        return connection
    raise error
