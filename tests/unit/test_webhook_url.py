"""Status callback URLs: only public https destinations, however the address is spelled (no network: the
resolver is injected where a name must resolve)."""

from __future__ import annotations

import pytest

from textgate import webhook_url
from textgate.webhook_url import RefusedUrl

PUBLIC = "93.184.215.14"
NAMES = {
    "hooks.example.com": [PUBLIC],
    "v6.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example.com": [PUBLIC, "10.0.0.7"],  # one public answer does not excuse a private one
    "metadata.example.com": ["169.254.169.254"],
    "loop.example.com": ["127.0.0.1"],
}


def resolver(host: str, port: int) -> list[str]:
    return NAMES.get(host, [])


# Every spelling that points into the private network, with the kind the refusal names.
FORGED = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://localhost.:443/", "does not resolve"),
    ("https://2130706433/", "loopback"),  # decimal
    ("https://0x7f000001/", "loopback"),  # hex
    ("https://0177.0.0.1/", "loopback"),  # octal
    ("https://017700000001/", "loopback"),  # octal, one part
    ("https://127.1/", "loopback"),  # two parts
    ("https://0x7f.0.0.1/", "loopback"),
    ("https://127.0.0.1./", "loopback"),  # trailing dot
    ("https://[::1]/", "loopback"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped IPv6
    ("https://[::ffff:7f00:1]/", "loopback"),
    ("https://[::ffff:169.254.169.254]/", "link-local"),
    ("https://[64:ff9b::a9fe:a9fe]/", "link-local"),  # NAT64 of the metadata address
    ("https://[2002:7f00:1::]/", "loopback"),  # 6to4
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://2852039166/", "link-local"),  # the metadata address as a number
    ("https://[fe80::1]/", "link-local"),
    ("https://10.1.2.3/", "private"),
    ("https://172.16.0.1/", "private"),
    ("https://192.168.0.1/", "private"),
    ("https://[fd12:3456::1]/", "private"),  # unique-local
    ("https://100.64.0.1/", "not public"),  # carrier-grade NAT (shared)
    ("https://224.0.0.1/", "multicast"),
    ("https://[ff02::1]/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "reserved"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://0/", "unspecified"),
    ("https://[::]/", "unspecified"),
    ("https://192.0.2.10/", "private"),  # documentation
    ("https://metadata.example.com/", "link-local"),
    ("https://loop.example.com/", "loopback"),
    ("https://rebind.example.com/", "private"),
]


@pytest.mark.parametrize(("url", "kind"), FORGED)
def test_every_spelling_of_a_private_address_is_refused(url: str, kind: str) -> None:
    with pytest.raises(RefusedUrl) as refused:
        webhook_url.check(url, resolver=resolver)
    assert kind in str(refused.value)
    assert url not in str(refused.value)  # the message never repeats the URL (it may hold a caller's secret)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.215.14/", "https"),
        ("ftp://93.184.215.14/", "https"),
        ("https://user:pass@93.184.215.14/", "user name or password"),
        ("https://user@hooks.example.com/", "user name or password"),
        ("https://93.184.215.14\\@evil.example/", "user name or password"),
        ("https://93.184.215.14/a#frag", "fragment"),
        ("https://93.184.215.14/a#", "fragment"),
        ("https://93.184.215.14/" + "a" * 2030, "2048"),
        ("https://93.184.215.14/a b", "ASCII"),
        ("https://exämple.com/", "ASCII"),
        ("https://%31%32%37.0.0.1/", "not a valid name"),
        ("https://93.184.215.14:99999/", "not a valid URL"),
        ("https://93.184.215.14:0/", "not a valid URL"),
        ("https://93.184.215.14:/", "not a valid URL"),
        ("https:///path", "no host"),
        ("https://0x5db8d70e/", "dotted decimal"),  # public, but no one spells it so: not a name TLS can check
        ("https://256.1.1.1/", "not a valid name"),
        ("https://1.2.3.4444/", "not a valid name"),
        ("https://08.0.0.1/", "not a valid name"),
        ("https://nowhere.example.com/", "does not resolve"),
    ],
)
def test_what_is_not_a_plain_https_url_is_refused(url: str, message: str) -> None:
    with pytest.raises(RefusedUrl, match=message):
        webhook_url.check(url, resolver=resolver)


def test_public_destinations_are_accepted_with_the_address_to_connect_to() -> None:
    destination = webhook_url.check("https://Hooks.Example.com:8443/in?x=1", resolver=resolver)
    assert (destination.scheme, destination.host, destination.port, destination.target) == (
        "https",
        "hooks.example.com",
        8443,
        "/in?x=1",
    )
    assert webhook_url.public_addresses(destination, resolver) == [PUBLIC]
    assert webhook_url.check(f"https://{PUBLIC}", resolver=resolver).target == "/"
    v6 = webhook_url.check("https://v6.example.com/", resolver=resolver)
    assert webhook_url.public_addresses(v6, resolver) == NAMES["v6.example.com"]
    both = webhook_url.parse("https://both.example.com/")
    v6_first = {"both.example.com": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", PUBLIC]}
    # IPv4 first: a Lambda function often has no IPv6 route.
    assert webhook_url.public_addresses(both, lambda host, port: v6_first[host]) == [PUBLIC, v6_first[both.host][0]]


def test_each_attempt_checks_again_what_the_name_resolves_to_now() -> None:
    destination = webhook_url.check("https://hooks.example.com/", resolver=resolver)
    rebound = {"hooks.example.com": ["127.0.0.1"]}
    with pytest.raises(RefusedUrl, match="loopback"):
        webhook_url.public_addresses(destination, lambda host, port: rebound.get(host, []))


def test_an_allowed_host_may_use_http_and_a_private_address() -> None:
    destination = webhook_url.check("http://127.0.0.1:8080/hook", ["127.0.0.1"], resolver=resolver)
    assert destination.allowed_host
    assert webhook_url.public_addresses(destination, resolver) == ["127.0.0.1"]
    # Only that host: another private one stays refused, and the allowance still refuses user info.
    with pytest.raises(RefusedUrl, match="https"):
        webhook_url.check("http://10.0.0.1/", ["127.0.0.1"], resolver=resolver)
    with pytest.raises(RefusedUrl, match="loopback"):
        webhook_url.check("https://2130706433/", ["127.0.0.1"], resolver=resolver)
    with pytest.raises(RefusedUrl, match="user name"):
        webhook_url.check("http://a@127.0.0.1/", ["127.0.0.1"], resolver=resolver)


def test_accept_resolves_a_receiver_once_a_minute_and_each_attempt_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of a thousand items naming one receiver costs one lookup at accept; attempts never use the cache."""
    from textgate import clock

    asked: list[str] = []
    answers = {"hooks.example.com": ["93.184.215.14"], "other.example.com": ["93.184.215.15"]}

    def system(host: str, _port: int) -> list[str]:
        asked.append(host)
        return answers.get(host, [])

    now = [1_000_000.0]
    monkeypatch.setattr(webhook_url, "system_resolver", system)
    monkeypatch.setattr(clock, "now", lambda: now[0])
    monkeypatch.setattr(webhook_url, "_accept_cache", {})
    for _ in range(1000):
        webhook_url.check("https://hooks.example.com/a", (), webhook_url.accept_resolver)
    webhook_url.check("https://other.example.com/a", (), webhook_url.accept_resolver)
    assert asked == ["hooks.example.com", "other.example.com"]
    with pytest.raises(RefusedUrl, match="does not resolve"):
        webhook_url.check("https://nowhere.example.com/", (), webhook_url.accept_resolver)
    with pytest.raises(RefusedUrl, match="does not resolve"):
        webhook_url.check("https://nowhere.example.com/", (), webhook_url.accept_resolver)
    assert asked.count("nowhere.example.com") == 2  # a failure is not kept
    now[0] += webhook_url.ACCEPT_CACHE_SECONDS + 1
    answers["hooks.example.com"] = ["127.0.0.1"]  # rebound since: refused once the minute is over
    with pytest.raises(RefusedUrl, match="loopback"):
        webhook_url.check("https://hooks.example.com/a", (), webhook_url.accept_resolver)
    destination = webhook_url.parse("https://other.example.com/a")
    answers["other.example.com"] = ["10.0.0.1"]
    with pytest.raises(RefusedUrl, match="private"):  # an attempt asks the resolver itself, now
        webhook_url.public_addresses(destination)
