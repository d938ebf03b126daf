"""The shared rule for answers that are not a provider's documented answer, and the provider's words."""

from __future__ import annotations

import pytest

from textgate.providers import answers
from textgate.providers.outcome import CUT, REDACTED, ProviderOutcome, Verdict
from textgate.providers.transport import HttpAnswer


def answer(status: int, body: str = "", content_type: str = "text/plain") -> HttpAnswer:
    return HttpAnswer(status, {"content-type": content_type}, body.encode())


@pytest.mark.parametrize(
    ("status", "verdict", "code"),
    [
        (503, Verdict.TRANSIENT, "provider_error"),
        (429, Verdict.TRANSIENT, "rate_limited"),
        (500, Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (501, Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (502, Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (504, Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (599, Verdict.UNKNOWN, "provider_ambiguous_answer"),
        (400, Verdict.REJECTED, "provider_rejected"),
        (404, Verdict.REJECTED, "provider_rejected"),
        (302, Verdict.REJECTED, "provider_rejected"),
    ],
)
def test_one_rule_for_every_status(status: int, verdict: Verdict, code: str) -> None:
    outcome = answers.undocumented("Acme", answer(status, "said so"))
    assert (outcome.verdict, outcome.code, outcome.http_status) == (verdict, code, status)
    assert outcome.message == f"Acme answered HTTP {status}: said so"


@pytest.mark.parametrize("status", [200, 201])
def test_a_2xx_body_is_never_repeated(status: int) -> None:
    """The provider acted: its body may hold what it made (a PIN), which no error message may show."""
    outcome = answers.undocumented("Acme", answer(status, "<pin>846547</pin><broken"), "not XML")
    assert outcome.message == f"Acme answered HTTP {status} (not XML)"


def test_what_the_client_missed_is_said_and_an_empty_body_says_nothing() -> None:
    outcome = answers.undocumented("Acme", answer(200), "no id")
    assert outcome.message == "Acme answered HTTP 200 (no id)"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("<!doctype html><title>Down</title><p>Try later</p>", "text/plain"),  # known by its start
        ('<?xml version="1.0"?>\n<!-- proxy --><html><body>Down<br>Try later</body></html>', ""),
        ("<h1>Down</h1><p>Try later", "text/html"),  # known by its type
    ],
)
def test_an_html_page_is_named_and_told_as_text(body: str, content_type: str) -> None:
    words = answers.words(answer(502, body, content_type))
    assert words == "an HTML page: Down Try later"


def test_an_html_page_without_text_is_still_named() -> None:
    assert answers.words(answer(502, "<html><script>x()</script></html>", "text/html")) == "an HTML page"


def test_xml_is_not_taken_for_html() -> None:
    assert answers.words(answer(500, "<error>exception</error>", "application/xml")) == "<error>exception</error>"


def test_control_characters_and_whitespace_collapse() -> None:
    assert answers.tidy("  a\r\n\tb\x00c\x1b[31m  d\u2028e ") == "a b c [31m d e"


def test_a_long_text_is_cut_to_the_limit() -> None:
    cut = answers.tidy("word " * 400)
    assert len(cut) <= answers.MAX_WORDS and cut.endswith(CUT)
    assert answers.tidy("x" * answers.MAX_WORDS) == "x" * answers.MAX_WORDS


def test_a_json_error_gives_its_message_and_other_json_stays() -> None:
    assert answers.words(answer(409, '{"message": " Locked.\\n ", "code": 3}')) == "Locked."
    assert answers.words(answer(409, '{"error": "Locked"}')) == '{"error": "Locked"}'


def test_a_credential_cut_in_half_leaves_nothing_of_itself() -> None:
    secret = "Sup3rS3cretValue"
    text = answers.tidy("y" * (answers.MAX_WORDS - 6) + secret)
    assert text == "y" * (answers.MAX_WORDS - 6) + secret[:5] + CUT
    scrubbed = ProviderOutcome.rejected("x", text).without(secret)
    assert scrubbed.message == "y" * (answers.MAX_WORDS - 6) + REDACTED + CUT


def test_a_cut_text_that_merely_ends_like_nothing_secret_keeps_its_end() -> None:
    text = answers.tidy("abc " * 200)
    assert ProviderOutcome.rejected("x", text).without("zzzzzz").message == text


def test_several_secrets_and_their_url_forms_are_blanked() -> None:
    outcome = ProviderOutcome.rejected("x", "a=k/1+2 b=k%2F1%2B2 c=pub").without("k/1+2", "pub")
    assert outcome.message == f"a={REDACTED} b={REDACTED} c={REDACTED}"
