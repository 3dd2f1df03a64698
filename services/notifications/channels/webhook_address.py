"""Where a webhook may point: a well-formed https URL whose host is on the public internet.

Parsing is the libraries' (``urllib.parse`` for the parts, ``idna`` for the host name: UTS #46
mapping, IDNA 2008 code points, labels of at most 63 octets); every malformed URL is one 422 that
names ``url``, never a server error. The address check looks through the encodings that carry an
IPv4 address inside an IPv6 one (IPv4-mapped and -compatible, NAT64 ``64:ff9b::/96`` and
``64:ff9b:1::/48``, 6to4, Teredo): ``64:ff9b::7f00:1`` is 127.0.0.1 through a NAT64 gateway.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit

import idna

from contracts.errors import ErrorCode, FieldError, ServiceFailure, failure

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
#: RFC 8215's local-use translation prefix: inside someone's own network by definition.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


class WebhookUrl(NamedTuple):
    #: The host as it goes on the wire: A-labels, or an IP literal without brackets.
    host: str


def malformed(why: str) -> ServiceFailure:
    return failure(ErrorCode.VALIDATION, "Malformed webhook URL", why, [
        FieldError(field="$.url", message_ja="連携先の URL の形式が正しくありません。",
                   message_en=f"The webhook URL is malformed: {why}."),
    ])


def parse(url: str) -> WebhookUrl:
    """The URL's scheme and host, checked; :func:`malformed` for anything a client could not reach."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 — raises on a port that is not a number in 0–65535
        raw = parts.hostname
    except ValueError as exc:  # an unclosed IPv6 bracket, a bad port
        raise malformed(str(exc)) from exc
    if parts.scheme not in ("https", "http") or not raw:
        raise malformed("a scheme and a host are needed")
    if parts.netloc.rpartition("@")[0]:
        raise malformed("no user name or password in the URL")
    try:
        ipaddress.ip_address(raw)
        return WebhookUrl(raw)
    except ValueError:
        pass
    try:
        host = idna.encode(raw.rstrip("."), uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise malformed(f"the host name is not valid ({exc})") from exc
    return WebhookUrl(host)


def embedded(address: Address) -> list[Address]:
    """``address`` and every IPv4 address it carries."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64 or address in _COMPATIBLE:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def inward(address: Address) -> bool:
    """Whether ``address``, or an address it carries, is not on the public internet."""
    if isinstance(address, ipaddress.IPv6Address) and address in _LOCAL_NAT64:
        return True
    return any(not a.is_global or a.is_multicast for a in embedded(address))
