"""YAML from files a user or a submitter wrote (configs, --bypass, --overrides): PyYAML's safe
loader without anchors and aliases.

safe_load builds only plain data, but an alias is a reference, and nested aliases expand
exponentially ("billion laughs": 389 bytes that cost `sciperf report` 46 s and 3 GB). None of
our files needs them, so a file that has one is refused with its line, as is a file that is not
UTF-8 text (a byte-order mark is allowed).
"""

from __future__ import annotations

from pathlib import Path

import yaml


class YamlError(ValueError):
    """A file that cannot be read as plain YAML; the message names it (and the line)."""


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in this file", event.start_mark)
        if getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None, None, f"anchors (&{event.anchor}) are not allowed in this file",
                event.start_mark)
        return super().compose_node(parent, index)


def loads(text: str, source: str = "<string>"):
    """The plain data of a YAML document; YamlError naming `source` and the line."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(e, "problem", None) or str(e)
        raise YamlError(f"{where}: not valid YAML: {problem}") from None


def load_file(path: str | Path):
    """loads() on a file's text; YamlError for an unreadable or binary file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise YamlError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise YamlError(f"{path}: not UTF-8 text (byte {e.start + 1} is {data[e.start]:#04x}); "
                        "expected a YAML file") from None
    if "\x00" in text:
        raise YamlError(f"{path}: holds NUL bytes; expected a YAML text file")
    return loads(text, str(path))
