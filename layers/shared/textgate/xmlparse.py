"""XML answers from providers, parsed with defusedxml (no entities, no external references).

Some providers answer with several top-level elements or with tags that are not quite well-formed; `parse_lenient`
wraps the text in a root of ours and, if it still does not parse, mends unbalanced tags before a second try.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_TAG = re.compile(r"<(/?)([A-Za-z_][\w.\-:]*)([^<>]*?)(/?)>")
# Characters XML 1.0 cannot carry, raw or as a character reference.
_NOT_XML_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_CHARACTER_REFERENCE = re.compile(r"&#(?:x([0-9A-Fa-f]+)|([0-9]+));")
REPLACEMENT = "\N{REPLACEMENT CHARACTER}"


class XmlError(ValueError):
    pass


def parse(text: str) -> Element:
    try:
        return ElementTree.fromstring(text)  # type: ignore[no-any-return]
    except (ParseError, ValueError) as exc:
        raise XmlError(f"answer is not well-formed XML ({exc})") from None


def parse_lenient(text: str) -> Element:
    """Parse a run of elements without a single root, mending unbalanced tags if it must."""
    body = _DECLARATION.sub("", text, count=1)
    try:
        return parse(f"<answer>{body}</answer>")
    except XmlError:
        return parse(f"<answer>{_mend(body)}</answer>")


def _mend(body: str) -> str:
    """Balance tags: an opening tag of an element that is already open closes it (the seed's getMOMessages
    sample writes `<MOMessageList>` where `</MOMessageList>` was meant); a closing tag closes whatever is still
    open inside it; what is left open at the end is closed."""
    out: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _TAG.finditer(body):
        out.append(body[position : match.start()])
        position = match.end()
        closing, name, _attributes, self_closing = match.groups()
        if self_closing:
            out.append(match.group(0))
        elif closing:
            if name in stack:
                while stack:
                    open_name = stack.pop()
                    out.append(f"</{open_name}>")
                    if open_name == name:
                        break
            # a closing tag with nothing open to close is dropped
        elif name in stack:
            while stack:
                open_name = stack.pop()
                out.append(f"</{open_name}>")
                if open_name == name:
                    break
        else:
            stack.append(name)
            out.append(match.group(0))
    out.append(body[position:])
    out.extend(f"</{name}>" for name in reversed(stack))
    return "".join(out)


def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def find_local(root: Element, name: str) -> Element | None:
    """The first element named `name` anywhere below `root`, whatever its namespace."""
    for element in root.iter():
        if local_name(element.tag) == name:
            return element
    return None


def text_of(root: Element | None, name: str) -> str | None:
    if root is None:
        return None
    element = find_local(root, name)
    if element is None:
        return None
    return (element.text or "").strip()


def cut_elements(text: str, name: str, parents: tuple[str, ...]) -> tuple[str, list[str]]:
    """Cut every `<name>` element out of `text`, well-formed or not, so that one broken element cannot spoil the
    rest of the document: the text without them, and the content of each. An element ends at its closing tag, at
    the next `<name>`, at the closing tag of one of its `parents`, or at the end of the text."""
    ends = "|".join(re.escape(parent) for parent in parents)
    pattern = re.compile(
        rf"<{re.escape(name)}(?:\s[^<>]*)?>(.*?)"
        rf"(?:</{re.escape(name)}\s*>|(?=<{re.escape(name)}[\s>])|(?=</(?:{ends})\s*>)|\Z)",
        re.DOTALL,
    )
    contents = [match.group(1) for match in pattern.finditer(text)]
    return pattern.sub("", text), contents


def read_fields(content: str, names: tuple[str, ...]) -> tuple[dict[str, str | None], bool]:
    """The text of each named child of an element's content, and whether the content was well-formed. When it is
    not, each child is read on its own: one that cannot be read is None, and characters XML cannot carry are
    replaced by U+FFFD, so what can be read is kept."""
    try:
        element = parse(f"<element>{content}</element>")
    except XmlError:
        pass
    else:
        return {name: text_of(element, name) for name in names}, True
    values: dict[str, str | None] = {}
    for name in names:
        match = re.search(rf"<{re.escape(name)}(?:\s[^<>]*)?>(.*?)</{re.escape(name)}\s*>", content, re.DOTALL)
        values[name] = _salvaged_text(match.group(1)) if match else None
    return values, False


def _salvaged_text(inner: str) -> str | None:
    inner = _CHARACTER_REFERENCE.sub(_keep_or_replace, _NOT_XML_CHAR.sub(REPLACEMENT, inner))
    try:
        element = parse(f"<value>{inner}</value>")
    except XmlError:
        return None
    return "".join(element.itertext()).strip()


def _keep_or_replace(reference: re.Match[str]) -> str:
    hexadecimal, decimal = reference.groups()
    try:
        char = chr(int(hexadecimal, 16) if hexadecimal else int(decimal))
    except (ValueError, OverflowError):
        return REPLACEMENT
    return REPLACEMENT if _NOT_XML_CHAR.match(char) else reference.group(0)
