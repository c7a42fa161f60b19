"""Where notices may go: only to destinations the operator allowed, never into our own network.

A notice carries an evidence pack. A webhook address typed on the platform settings page could
otherwise point at loopback, a private or link-local address (a metadata service, a database's
admin port) and hand the pack to it, or use the error text to map which ports answer.

- `CELLWATCH_OUTBOUND_DESTINATIONS` lists what may be reached: host names, domains (a leading
  dot: `.platform.example` is it and every subdomain), IP addresses and networks (CIDR).
- Before connecting, the host is resolved and every address checked: loopback, private,
  link-local, multicast, reserved and unspecified addresses are refused unless an address or
  network listed in the setting holds them (tests list their loopback listener). The connection
  then goes to the address that was checked, so a second lookup cannot swap it (DNS rebinding).
- Email recipients' domains must be allowed the same way (the SMTP relay itself is the
  operator's own setting and is not checked).
- What a person sees of a failure is "delivery failed" and the platform's HTTP status, never
  why a connection failed (that would tell which ports answer); the detail goes to the log.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.errors import Unprocessable
from app.settings import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Refused(Exception):
    """A destination the settings do not allow; the message is for people."""


@dataclass(frozen=True)
class Allowed:
    names: frozenset[str]  # exact host names
    domains: tuple[str, ...]  # ".example.org": it and its subdomains
    networks: tuple[Network, ...]  # addresses listed, private ones included

    @classmethod
    def of(cls, settings: Settings) -> Allowed:
        names, domains, networks = set(), [], []
        for raw in settings.outbound_destinations.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                if entry.startswith("."):
                    domains.append(entry)
                else:
                    names.add(entry)
        return cls(frozenset(names), tuple(domains), tuple(networks))

    def host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return host in self.names or any(
                host == d[1:] or host.endswith(d) for d in self.domains)
        return self.listed(address)

    def listed(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def _public(address: Address) -> bool:
    return not (address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified)


def check_destination(settings: Settings, channel: str, address: str) -> None:
    """At save time: the platform's webhook host or email domain must be allowed (a 422)."""
    if channel == "webhook":
        host = urlsplit(address).hostname or ""
    elif channel == "email":
        host = address.rpartition("@")[2]
    else:
        return
    if not Allowed.of(settings).host(host):
        raise Unprocessable(
            f"Notices may not go to {host!r}: it is not among the destinations this service "
            "is allowed to send to (CELLWATCH_OUTBOUND_DESTINATIONS). Ask the operator to add "
            "the platform's host or domain.")


def vetted(settings: Settings, host: str, port: int) -> Address:
    """The address to connect to: host allowed, every address it resolves to allowed."""
    allowed = Allowed.of(settings)
    if not allowed.host(host):
        raise Refused(f"{host} is not an allowed destination")
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"{host} could not be resolved ({exc})") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    barred = [a for a in addresses if not _public(a) and not allowed.listed(a)]
    if not addresses or barred:
        raise Refused(f"{host} resolves to an address not allowed "
                      f"({barred[0] if barred else 'none'})")
    return addresses[0]


class _Pinned(http.client.HTTPConnection):
    """Connects to the checked address; the Host header still names the host."""

    def __init__(self, host: str, port: int, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """As _Pinned, over TLS: the certificate is checked against the host name."""

    def __init__(self, host: str, port: int, address: Address, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((str(self._address), self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def post(settings: Settings, url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST to an allowed address -> the HTTP status (redirects are not followed: a
    redirected POST would lose its body or go somewhere unreviewed). Refused or OSError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("not an http(s) address")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    address = vetted(settings, parts.hostname, port)
    kind = _PinnedTLS if tls else _Pinned
    conn = kind(parts.hostname, port, address, settings.delivery_timeout_seconds)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(1024)
        return response.status
    finally:
        conn.close()
