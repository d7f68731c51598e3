"""Where adding by link may go: every address rule, host spellings, the allow setting. Pure logic, no network."""
import ipaddress

import pytest

from rag.addresses import Reach, address_rule, is_loopback_host, numeric_spelling, parse_allow
from rag.errors import AddressError, SettingsError
from rag.settings import Settings


@pytest.mark.parametrize("address, rule", [
    ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"),
    ("fd00::1", "private"), ("fec0::1", "site-local"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("239.1.1.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("0.1.2.3", "'this network'"),
    ("100.64.0.1", "carrier-grade NAT"), ("240.0.0.1", "reserved"), ("255.255.255.255", "reserved"),
    ("192.0.2.1", "special-purpose"), ("198.18.0.1", "special-purpose"), ("2001:db8::1", "special-purpose"),
    # an IPv6 address carrying an internal IPv4 one: mapped, 6to4, NAT64, Teredo
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("2002:7f00:1::", "loopback"),
    ("2002:a9fe:a9fe::", "link-local"), ("64:ff9b::7f00:1", "loopback"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo: client 127.0.0.1 (stored inverted)
])
def test_internal_addresses_are_refused_with_their_rule(address, rule):
    found = address_rule(ipaddress.ip_address(address))
    assert found and rule in found, (address, found)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::64"])
def test_public_addresses_pass(address):
    assert address_rule(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("host, numeric", [
    ("0x7f000001", True), ("2130706433", True), ("0177.0.0.1", True), ("127.1", True), ("0x7f.0.0.1", True),
    ("127.0.0.01", True), ("127.0.0.1.", False), ("017700000001", True), ("256.1.1.1", True),
    ("127.0.0.1", False), ("8.8.8.8", False), ("1.example.org", False), ("example.org", False), ("0xcafe.com", False),
])
def test_hosts_spelled_as_numbers_are_recognised(host, numeric):
    assert numeric_spelling(host) is numeric


def test_a_host_spelled_as_a_number_is_refused_before_it_is_resolved(monkeypatch):
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: pytest.fail("resolved"))
    with pytest.raises(AddressError, match=r"^http://0x7f000001/: the host '0x7f000001' is an address written as a "
                                           r"number; .*\.$"):
        Reach(loopback=True).addresses("http://0x7f000001/", "0x7f000001", 80, 5)


def test_every_address_of_a_name_is_checked(monkeypatch):
    """A name resolving to a public and an internal address is refused: either could be the one connected to."""
    import socket

    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
               (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 80))]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    with pytest.raises(AddressError) as refused:
        Reach().addresses("http://news.example/a", "news.example", 80, 5)
    assert str(refused.value) == ("http://news.example/a: news.example resolves to 10.0.0.7, a private address, where "
                                  "adding by link does not go (RAG_FETCH_ALLOW can allow a host or range meant to be "
                                  "reached).")
    assert [str(a) for a in Reach(hosts=frozenset({"news.example"})).addresses("u", "news.example", 80, 5)] == \
        ["93.184.216.34", "10.0.0.7"]


def test_the_allow_setting_admits_named_hosts_and_ranges_only():
    reach = Reach.of(Settings.load(fetch_allow="archive.newsroom.internal, 10.20.0.0/16 fd12::/16"))
    internal = ipaddress.ip_address("10.20.3.4")
    assert reach.refusal("archive.newsroom.internal", ipaddress.ip_address("10.99.0.1")) is None  # the name is trusted
    assert reach.refusal("other.internal", internal) is None and reach.refusal("x", ipaddress.ip_address("fd12::5")) is None
    assert reach.refusal("x", ipaddress.ip_address("10.21.0.1")) == "a private address"
    assert reach.refusal("x", ipaddress.ip_address("127.0.0.1")) == "a loopback address"
    assert Reach(loopback=True).refusal("x", ipaddress.ip_address("127.0.0.1")) is None
    assert Reach(loopback=True).refusal("x", ipaddress.ip_address("169.254.169.254")), "loopback only, not link-local"


@pytest.mark.parametrize("value", ["0x7f000001", "not a host!", "10.0.0.0/33", "a..b"])
def test_a_bad_allow_entry_is_one_sentence(value):
    with pytest.raises(SettingsError, match=r"RAG_FETCH_ALLOW.*is neither a host name nor an address or range"):
        Settings.load(fetch_allow=value)


def test_parse_allow_and_loopback_names():
    assert parse_allow("") == (frozenset(), ())
    assert parse_allow("A.Example.org,[::1]") == (frozenset({"a.example.org"}), (ipaddress.ip_network("::1/128"),))
    assert [is_loopback_host(h) for h in ("localhost", "LOCALHOST.", "[::1]", "127.9.9.9", "app.localhost",
                                          "10.0.0.1", "example.org")] == [True, True, True, True, True, False, False]
