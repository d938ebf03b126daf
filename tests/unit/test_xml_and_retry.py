import random

import pytest

from textgate import xmlparse
from textgate.retry import backoff_seconds


def test_rootless_answer_is_wrapped() -> None:
    root = xmlparse.parse_lenient("<?xml version='1.0'?><input>x</input> <status>OK</status>")
    assert xmlparse.text_of(root, "status") == "OK"


def test_unclosed_repeated_tag_is_mended() -> None:
    root = xmlparse.parse_lenient("<a><b>1</b><a></r>")
    assert xmlparse.text_of(root, "b") == "1"


def test_entities_are_refused() -> None:
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(xmlparse.XmlError):
        xmlparse.parse(bomb)


def test_namespaced_elements_are_found_by_local_name() -> None:
    root = xmlparse.parse('<r xmlns="urn:x"><Status>Success</Status></r>')
    assert xmlparse.text_of(root, "Status") == "Success"


def test_backoff_is_full_jitter_capped() -> None:
    rng = random.Random(7)
    delays = [backoff_seconds(attempt, base=10, cap=900, rng=rng) for attempt in range(1, 12) for _ in range(50)]
    assert all(0 <= delay <= 900 for delay in delays)
    first = [backoff_seconds(1, base=10, cap=900, rng=rng) for _ in range(200)]
    assert max(first) <= 10 and min(first) < 2  # jitter spreads over the whole window
    late = [backoff_seconds(10, base=10, cap=900, rng=rng) for _ in range(200)]
    assert max(late) > 450
