"""A tiny HTML reader for tests: find elements by the stable data-* hooks."""

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict
    children: list = field(default_factory=list)
    parts: list = field(default_factory=list)

    @property
    def text(self):
        """All text inside, whitespace collapsed."""
        return " ".join("".join(self._texts()).split())

    def _texts(self):
        for part in self.parts:
            yield part.text if isinstance(part, Node) else part

    def find_all(self, attr=None, value=None, tag=None):
        """Descendants having ``attr`` (equal to ``value`` when given) and/or ``tag``."""
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and (
                attr is None
                or (attr in child.attrs and (value is None or child.attrs[attr] == value))
            ):
                found.append(child)
            found.extend(child.find_all(attr, value, tag))
        return found

    def find(self, attr=None, value=None, tag=None):
        """The first match, or None."""
        found = self.find_all(attr, value, tag)
        return found[0] if found else None

    def classes(self):
        return set((self.attrs.get("class") or "").split())


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)
        self.stack[-1].parts.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].parts.append(data)


def parse(markup):
    """The root Node of ``markup`` (str or bytes)."""
    builder = _Builder()
    builder.feed(markup.decode() if isinstance(markup, bytes) else markup)
    builder.close()
    return builder.root


def runs_by_id(root):
    """{run id: element} for every element carrying data-run-id (first occurrence wins)."""
    found = {}
    for node in root.find_all("data-run-id"):
        found.setdefault(int(node.attrs["data-run-id"]), node)
    return found


def kpis(root):
    """{kpi: int} from data-kpi elements."""
    return {n.attrs["data-kpi"]: int(n.text) for n in root.find_all("data-kpi")}


def tab_counts(root):
    """{tab: int} from data-tab/data-count."""
    return {n.attrs["data-tab"]: int(n.attrs["data-count"]) for n in root.find_all("data-tab")}
