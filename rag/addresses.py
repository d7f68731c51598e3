"""Addresses: where adding by link may go — public addresses only, unless the settings allow a host or range.

A link typed into the Documents tab is fetched by the server, from inside its network: without a rule it
reads the machine's own services (``http://127.0.0.1:8500/``), the office network and a cloud's metadata
service (``http://169.254.169.254/``) and files what it read as an article anyone can ask about. So every
host is resolved, every address it resolves to is checked, and the connection goes to an address that was
checked (rag/fetch.py connects to it, never resolving the name again). Loopback, private, link-local,
multicast, reserved and other special-purpose addresses are refused, as is an IPv6 address that carries
one (``::ffff:127.0.0.1``, 6to4, NAT64, Teredo), and a host spelled as a number other than four decimal
parts (``0x7f000001``, ``2130706433``, ``0177.0.0.1``, ``127.1``), which resolvers read as an address.
``RAG_FETCH_ALLOW`` names the hosts and ranges that may be reached all the same (a newsroom's own archive
server): a host name there is trusted whatever it resolves to, a range admits the addresses inside it.
"""
from __future__ import annotations

import ipaddress
import re
import socket
import threading
from dataclasses import dataclass
from typing import Optional, Union

from .errors import AddressError

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
NUMERIC_LABEL = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)  # what inet_aton reads as a number
DECIMAL_OCTET = re.compile(r"^(?:0|[1-9][0-9]{0,2})$")
HOST_NAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}"
                       r"[a-z0-9_])?$", re.IGNORECASE)
LOOPBACK_NAMES = ("localhost", "localhost.localdomain")
# Ranges Python's ipaddress does not single out by a property of their own, named for the refusal.
NAMED_RANGES = [(ipaddress.ip_network(net), rule) for net, rule in [
    ("0.0.0.0/8", "a 'this network' address"), ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
    ("10.0.0.0/8", "a private address"), ("172.16.0.0/12", "a private address"), ("192.168.0.0/16", "a private address"),
    ("fc00::/7", "a private address"), ("fec0::/10", "a private (site-local) address")]]
NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOW_HINT = "RAG_FETCH_ALLOW can allow a host or range meant to be reached"


def address_rule(address: Address) -> Optional[str]:
    """The rule that refuses an address, in words, or None for a public one.

    ``address_rule(ip_address('127.0.0.1')) -> 'a loopback address'``;
    ``address_rule(ip_address('::ffff:10.0.0.1')) -> 'a private address'``; ``address_rule(ip_address('93.184.216.34')) -> None``
    """
    if isinstance(address, ipaddress.IPv6Address):
        teredo = address.teredo[1] if address.teredo else None
        nat64 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64 else None
        for inner in (address.ipv4_mapped, address.sixtofour, teredo, nat64):
            if inner is not None and address_rule(inner):
                return address_rule(inner)
    for test, rule in ((address.is_unspecified, "an unspecified address"), (address.is_loopback, "a loopback address"),
                       (address.is_link_local, "a link-local address (cloud metadata services use one)"),
                       (address.is_multicast, "a multicast address")):
        if test:
            return rule
    for network, rule in NAMED_RANGES:
        if address.version == network.version and address in network:
            return rule
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "a special-purpose address (documentation, benchmarking or protocol use)"
    return None


def numeric_spelling(host: str) -> bool:
    """Whether a host is an IPv4 address written other than as four decimal parts, which resolvers still read.

    ``numeric_spelling('0x7f000001') -> True``; ``numeric_spelling('127.1') -> True``; ``numeric_spelling('0177.0.0.1') -> True``;
    ``numeric_spelling('127.0.0.1') -> False``; ``numeric_spelling('1.example.org') -> False``
    """
    labels = host.rstrip(".").split(".")
    if not all(NUMERIC_LABEL.match(label) for label in labels):
        return False
    return not (len(labels) == 4 and all(DECIMAL_OCTET.match(label) and int(label) < 256 for label in labels))


def parse_allow(value: Optional[str]) -> tuple[frozenset[str], tuple[Network, ...]]:
    """The host names and networks of a RAG_FETCH_ALLOW value: entries separated by commas or spaces.

    ``parse_allow('archive.example.internal, 10.20.0.0/16') -> (frozenset({'archive.example.internal'}),
    (IPv4Network('10.20.0.0/16'),))``; ``parse_allow('') -> (frozenset(), ())``

    Raises:
        ValueError: an entry that is neither a host name nor an address or range (one sentence).
    """
    hosts, networks = set(), []
    for entry in re.split(r"[\s,]+", (value or "").strip()):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if not HOST_NAME.match(entry) or numeric_spelling(entry):
            raise ValueError(f"'{entry}' is neither a host name nor an address or range such as 10.20.0.0/16")
        hosts.add(entry.lower().rstrip("."))
    return frozenset(hosts), tuple(networks)


def is_loopback_host(host: str) -> bool:
    """``is_loopback_host('localhost') -> True``; ``is_loopback_host('[::1]') -> True``; ``is_loopback_host('10.0.0.1') -> False``."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Reach:
    """Where fetching by link may connect: public addresses, the allowed hosts and networks, and loopback when
    ``loopback`` (the command line, for a link its owner named on loopback)."""

    hosts: frozenset = frozenset()
    networks: tuple = ()
    loopback: bool = False

    @classmethod
    def of(cls, settings, loopback: bool = False) -> "Reach":
        """The reach the settings give (``fetch_allow``)."""
        hosts, networks = parse_allow(settings.fetch_allow)
        return cls(hosts, networks, loopback)

    def refusal(self, host: str, address: Address) -> Optional[str]:
        """Why host may not be reached at address, or None when it may (public, or allowed)."""
        rule = address_rule(address)
        if rule is None or host.lower().rstrip(".") in self.hosts or (self.loopback and address.is_loopback):
            return None
        if any(address.version == net.version and address in net for net in self.networks):
            return None
        return rule

    def addresses(self, url: str, host: str, port: int, timeout_s: float) -> list[Address]:
        """Every address host resolves to, each checked; the caller connects only to these.

        Raises:
            AddressError: the spelling, or one of the addresses, is refused (a name resolving to both a public and an
                internal address is refused: it could be either).
            DocumentError: the name cannot be resolved within timeout_s.
        """
        check_spelling(url, host)
        found = resolve(url, host, port, timeout_s)
        for address in found:
            rule = self.refusal(host, address)
            if rule:
                named = " is" if str(address) == host.strip("[]") else f" resolves to {address},"
                raise AddressError(f"{url}: {host.strip('[]')}{named} {rule}, where adding by link does not go "
                                   f"({ALLOW_HINT}).")
        return found


def check_spelling(url: str, host: str) -> None:
    """Refuse a host spelled as a number other than a.b.c.d, before anything resolves it (AddressError)."""
    if numeric_spelling(host):
        raise AddressError(f"{url}: the host '{host}' is an address written as a number; links must name a host, "
                           "or an address as four decimal numbers.")


def resolve(url: str, host: str, port: int, timeout_s: float) -> list[Address]:
    """The addresses of a host, in the resolver's order, within timeout_s (the resolver itself has no deadline).

    Raises:
        DocumentError: the host is unknown, or no answer came in time.
    """
    from .errors import DocumentError

    host = host.strip("[]")
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    answer: dict = {}

    def lookup():
        try:
            answer["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            answer["error"] = exc

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(max(timeout_s, 0.001))
    if "infos" not in answer:
        why = "no answer from the name server in time" if worker.is_alive() else "the name is not known"
        raise DocumentError(f"{url}: cannot find the address of {host} ({why}). If this machine has no network "
                            "connection, save the page as a file and upload it.")
    found = []
    for family, _, _, _, sockaddr in answer["infos"]:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found
