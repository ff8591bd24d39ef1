"""Actors file: canonical actor id -> aliases (names, name variants, role phrases).

Format (YAML), one actor per key::

    Peskov: [بيسكوف, دميتري بيسكوف, الناطق باسم الكرملين, Dmitry Peskov]
    Lavrov:
      - لافروف
      - وزير الخارجية الروسي

The id itself also counts as an alias (so ``Peskov`` matches English text). An alias may belong to
several actors (``المبعوث الأممي`` for two envoys): the attributor then picks the one the article
has already quoted or mentioned. Validation is strict: a malformed entry is an error naming the
file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from stancelab.errors import UserError, located

DEFAULT_ACTORS = Path(__file__).resolve().parents[2] / "data" / "actors.yaml"


@dataclass(frozen=True)
class Actors:
    """Canonical id -> aliases (the id first). ``source`` is the file it came from, if any."""

    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str | None = None

    def __len__(self) -> int:
        return len(self.aliases)

    def __iter__(self):
        return iter(self.aliases)


def actors_from_mapping(mapping: dict, source: str = "actors") -> Actors:
    """Build from a Python mapping (the same checks as the file, without line numbers)."""
    if not isinstance(mapping, dict) or not mapping:
        raise UserError(f"{source}: expected a non-empty mapping of actor id -> list of aliases")
    out = {}
    for key, value in mapping.items():
        out[_check_id(key, source, None)] = _check_aliases(key, value, source, None)
    return Actors(out, source)


def load_actors(path: Path | str) -> Actors:
    """Read and validate an actors YAML file; errors are ``file:line: message``."""
    from stancelab.data.records import read_text

    path = Path(path)
    text = read_text(path)
    if not text.strip():
        raise UserError(f"{path}: empty actors file, expected lines like 'Peskov: [بيسكوف, الناطق باسم الكرملين]'")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise located(path, f"not valid YAML ({exc.problem or exc.context})", line=line) from None
    except yaml.reader.ReaderError as exc:  # a control character; its str() spans two lines
        char = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise located(path, f"not valid YAML (control character {char} at offset {exc.position})",
                      line=text[: exc.position].count("\n") + 1) from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({exc})") from None
    if root is None:
        raise UserError(f"{path}: empty actors file")
    if not isinstance(root, yaml.MappingNode):
        raise located(path, "expected a mapping of actor id -> list of aliases", line=root.start_mark.line + 1)
    out: dict[str, tuple[str, ...]] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            raise located(path, "actor id must be a plain name", line=line)
        actor = _check_id(key_node.value, path, line)
        if actor in out:
            raise located(path, f"duplicate actor id {actor!r}", line=line)
        value = _node_value(value_node, path)
        out[actor] = _check_aliases(actor, value, path, value_node.start_mark.line + 1)
    return Actors(out, str(path))


def _node_value(node, path):
    if isinstance(node, yaml.ScalarNode):
        return None if node.value == "" and node.tag.endswith("null") else node.value
    if isinstance(node, yaml.SequenceNode):
        items = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode):
                raise located(path, "each alias must be a plain string, not a list or mapping",
                              line=item.start_mark.line + 1)
            items.append(item.value)
        return items
    return {}  # a mapping: rejected by _check_aliases


def _check_id(key, path, line) -> str:
    if not isinstance(key, str) or not key.strip():
        raise located(path, "empty actor id", line=line)
    if any(c in key for c in ",:\n\t"):
        raise located(path, f"actor id {key!r} must not contain ',', ':' or line breaks", line=line)
    return key.strip()


def _check_aliases(actor, value, path, line) -> tuple[str, ...]:
    if isinstance(value, str):
        raise located(path, f"actor {actor!r}: aliases must be a list, e.g. {actor}: [{value}]", line=line)
    if not isinstance(value, list) or not value:
        raise located(path, f"actor {actor!r}: expected a non-empty list of aliases", line=line)
    aliases = [str(actor)]
    for alias in value:
        if not isinstance(alias, str) or not alias.strip():
            raise located(path, f"actor {actor!r}: empty alias", line=line)
        alias = " ".join(alias.split())
        if alias not in aliases:
            aliases.append(alias)
    return tuple(aliases)
