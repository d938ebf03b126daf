"""The one rule for an HTTP answer that is not one of a provider's documented answers, and the provider's words.

Each client reads its provider's documented answers itself and hands everything else here, so that every
provider means the same thing by the same answer:

- 503 and 429: the provider (or its gateway) says it did not take the request: safe to try again.
- 502, 504 and every other 5xx: a gateway or a crashed server answered; the provider may have acted before it
  failed, so the operation is `unknown` and never sent again.
- 3xx and 4xx: refused before acting (redirects are not followed): final.
- 1xx and 2xx that the client could not read: the provider may have acted: `unknown`.

`words()` gives the provider's own text for `error.message` (of a 3xx, 4xx or 5xx; never of a 2xx, whose body
may hold what the provider made, such as a generated PIN): HTML reduced to its text, control characters and
runs of whitespace collapsed, cut to `MAX_WORDS` characters. Credentials are blanked by the client
(`ProviderOutcome.without`) after this.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from textgate.providers.outcome import CUT, ProviderOutcome
from textgate.providers.transport import HttpAnswer

MAX_WORDS = 500  # the provider's words kept in an error message

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_HTML_START = re.compile(r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


def tidy(text: str, limit: int = MAX_WORDS) -> str:
    """Control characters and runs of whitespace become one space; a text longer than `limit` is cut."""
    collapsed = " ".join(_CONTROL.sub(" ", text).split())
    if len(collapsed) <= limit:
        return collapsed
    return collapsed[: limit - len(CUT)].rstrip() + CUT


def is_html(answer: HttpAnswer) -> bool:
    content_type = (answer.header("Content-Type") or "").lower()
    return "html" in content_type.split(";")[0] or _HTML_START.match(answer.text[:1024]) is not None


def words(answer: HttpAnswer, limit: int = MAX_WORDS) -> str:
    """The provider's own text, fit for an error message: a JSON error's `message`, an HTML page named as one
    and shown as text, any other body as it is."""
    if not is_html(answer):
        return tidy(_json_message(answer.text) or answer.text, limit)
    text = tidy(_html_text(answer.text), limit)
    return f"an HTML page: {text}" if text else "an HTML page"


def undocumented(provider: str, answer: HttpAnswer, why: str = "") -> ProviderOutcome:
    """The verdict on an answer that is not one of `provider`'s documented answers (see the module's rule).

    `why` says, for a 2xx, what the client missed in it ("no messageSid")."""
    status = answer.status
    # A 2xx body is not repeated: the provider acted, and what it made may be private (a generated PIN).
    said = words(answer) if status >= 300 else ""
    message = f"{provider} answered HTTP {status}" + (f" ({why})" if why else "") + (f": {said}" if said else "")
    if status == 429:
        return ProviderOutcome.transient("rate_limited", message, http_status=status)
    if status == 503:
        return ProviderOutcome.transient("provider_error", message, http_status=status)
    if status >= 500:
        return ProviderOutcome.unknown("provider_ambiguous_answer", message, http_status=status)
    if status >= 300:
        return ProviderOutcome.rejected("provider_rejected", message, http_status=status)
    return ProviderOutcome.unknown("provider_malformed_answer", message, http_status=status)


def _json_message(text: str) -> str | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    message = document.get("message") if isinstance(document, dict) else None
    return message if isinstance(message, str) and message.strip() else None


class _TextOfHtml(HTMLParser):
    """The text a reader would see: the title and the body's text, without scripts and styles."""

    _HIDDEN = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        # A page's title is usually its heading too: say it once.
        if text and not self._hidden and (not self.parts or self.parts[-1] != text):
            self.parts.append(text)


def _html_text(text: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # a page too broken to read: its tags still go
        return re.sub(r"<[^>]*>?", " ", text)
    return " ".join(parser.parts)
