"""Reading YAML a person wrote (experiment files, `--set` values) without surprises.

`StrictLoader` is `yaml.SafeLoader` with four changes:
- a key given twice in one mapping is an error (PyYAML keeps the last one silently);
- `!!binary` values are refused (they would become bytes where text is expected);
- nesting deeper than `MAX_DEPTH` levels is an error, instead of a `RecursionError`;
- aliases may not expand the document past `MAX_NODES` nodes, counting every alias as the full
  size of what it names. Anchors and aliases (and `<<:` merges) stay usable for sharing a few
  settings, while a "billion laughs" file of a few lines is refused at once, before anything
  walks the expanded tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode

from eibench.errors import DataError

MAX_DEPTH = 64
MAX_NODES = 100_000


class StrictLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses duplicate keys, `!!binary`, deep nesting and alias
    bombs."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self._depth >= MAX_DEPTH:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node: MappingNode = super().compose_mapping_node(anchor)
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if not isinstance(key, ScalarNode):
                continue
            ident = (key.tag, key.value)
            if ident in seen:
                raise ConstructorError(
                    None, None, f"key {key.value!r} is given twice in one mapping", key.start_mark
                )
            seen.add(ident)
        return node

    def compose_document(self) -> Node | None:
        node: Node | None = super().compose_document()  # type: ignore[no-untyped-call]
        if node is not None and expanded_size(node) > MAX_NODES:
            problem = f"aliases expand the document past {MAX_NODES:,} values"
            raise ComposerError(None, None, problem, node.start_mark)
        return node


def _refuse_binary(loader: yaml.SafeLoader, node: Node) -> Any:
    raise ConstructorError(None, None, "binary values (!!binary) are not accepted", node.start_mark)


StrictLoader.add_constructor("tag:yaml.org,2002:binary", _refuse_binary)


def expanded_size(root: Node) -> int:
    """How many nodes `root` holds with every alias expanded, counting no further than just
    past `MAX_NODES`; a node that contains itself counts as too many."""
    sizes: dict[int, int] = {}
    pending: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in pending:
            return MAX_NODES + 1
        total = 1
        if isinstance(node, CollectionNode):
            pending.add(key)
            children: list[Node] = (
                [part for pair in node.value for part in pair]
                if isinstance(node, MappingNode)
                else list(node.value)
            )
            for child in children:
                total = min(total + size(child), MAX_NODES + 1)
            pending.discard(key)
        sizes[key] = total
        return total

    return size(root)


def parse_yaml(text: str, origin: Path | str, *, lines: bool = True) -> Any:
    """The one YAML document in `text`; anything wrong is a one-line `DataError` naming
    `origin` (a file, or e.g. `--set KEY=VALUE`) and, with `lines`, the line."""
    loader = None
    try:
        loader = StrictLoader(text)  # the reader already refuses some characters
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None and lines else None
        problem = exc.problem or exc.context or "not valid YAML"
        raise DataError(origin, f"not valid YAML ({problem})", line=line) from None
    except yaml.reader.ReaderError as exc:  # a control character
        line = text[: exc.position].count("\n") + 1 if lines else None
        problem = f"character #x{exc.character:04x} is not allowed"
        raise DataError(origin, f"not valid YAML ({problem})", line=line) from None
    except yaml.YAMLError as exc:
        raise DataError(origin, f"not valid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise DataError(origin, "not valid YAML (nested too deeply)") from None
    finally:
        if loader is not None:
            loader.dispose()  # type: ignore[no-untyped-call]


def read_yaml(path: Path, what: str = "file") -> Any:
    """The YAML document in the file at `path`, which must be UTF-8 text. A missing file
    raises `FileNotFoundError`; anything else wrong is a one-line `DataError`."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(path, f"the {what} is not UTF-8 text") from None
    return parse_yaml(text, path)
