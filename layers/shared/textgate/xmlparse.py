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
