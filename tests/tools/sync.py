"""Generate the copies of the connection options that cannot import Python, from their one table
(plugins/module_utils/_client/connection_options.py): the options of the doc fragment plugins/doc_fragments/connection.py,
and each role's connection variable in roles/<role>/meta/argument_specs.yml. Only those parts of the files are
rewritten; the rest stays as written.

    .venv/bin/python tests/tools/sync.py           rewrite what is stale (make sync)
    .venv/bin/python tests/tools/sync.py --check   list what is stale and exit 1, writing nothing (make sync-check)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, ".collection-tree"))

from ansible_collections.mde.response.plugins.module_utils._client.connection_options import (  # noqa: E402  pylint: disable=wrong-import-position
    CONNECTION_OPTIONS, ConnectionOption)

WIDTH = 120
DOC_FRAGMENT = os.path.join("plugins", "doc_fragments", "connection.py")
# The role whose connection variable each argument spec holds.
ROLES = ("quarantine_file", "contain", "file_indicators", "machine_action")
ROLE_CONNECTION_DESCRIPTION = (
    "Connection options of the collection's modules; see M(mde.response.stop_and_quarantine_file) for each.",
    "They add to the play's C(module_defaults) for C(group/mde.response.defender); an option given here wins over the "
    "play's, and an option given in neither comes from the environment variables the modules read (for example those "
    "AWX's Azure credential sets).",
)


def scalar(text: str) -> str:
    """The text as a YAML scalar: plain when YAML reads it back unchanged, else double-quoted."""
    try:
        if yaml.safe_load("key: %s" % text) == {"key": text} and " #" not in text:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(text)


def item_lines(indent: int, text: str) -> list[str]:
    """A ``- text`` list item, wrapped at WIDTH when it is a plain scalar."""
    value = scalar(text)
    if value != text:
        return [" " * indent + "- " + value]
    return textwrap.wrap(value, WIDTH, initial_indent=" " * indent + "- ", subsequent_indent=" " * (indent + 2),
                         break_long_words=False, break_on_hyphens=False)


def flow_list(values: tuple) -> str:
    return "[%s]" % ", ".join(str(value) for value in values)


def fallback_line(option: ConnectionOption) -> str:
    """The doc line naming the environment variables, in the order Ansible tries them."""
    then = "".join(", then E(%s)" % name for name in option.env[1:])
    note = option.fallback_note
    if note and not note.startswith(";"):
        note = " " + note
    return "Falls back to the E(%s) environment variable%s%s." % (option.env[0], then, note)


def fragment_options() -> str:
    """The ``options:`` section of the doc fragment."""
    lines = ["options:"]
    for option in CONNECTION_OPTIONS:
        lines.append("  %s:" % option.name)
        lines.append("    description:")
        for text in (option.description,) + option.details + ((fallback_line(option),) if option.env else ()):
            lines.extend(item_lines(6, text))
        lines.append("    type: %s" % option.type)
        if option.aliases:
            lines.append("    aliases: %s" % flow_list(option.aliases))
        if option.choices:
            lines.append("    choices: %s" % flow_list(option.choices))
        if option.default is not None:
            lines.append("    default: %s" % (str(option.default).lower() if isinstance(option.default, bool) else option.default))
    return "\n".join(lines) + "\n"


def role_connection(role: str) -> str:
    """The role's ``<role>_connection`` entry of its argument spec. It declares no default for an option (that would
    hide the module's own, module_defaults and the environment) and no alias (roles cannot rename them)."""
    lines = ["      %s_connection:" % role, "        description:"]
    for text in ROLE_CONNECTION_DESCRIPTION:
        lines.extend(item_lines(10, text))
    lines += ["        type: dict", "        default: {}", "        options:"]
    for option in CONNECTION_OPTIONS:
        lines.append("          %s:" % option.name)
        lines.append("            description: %s" % scalar(option.description))
        lines.append("            type: %s" % option.type)
        if option.choices:
            lines.append("            choices: %s" % flow_list(option.choices))
        if option.no_log:
            lines.append("            no_log: true")
    return "\n".join(lines) + "\n"


def replace_section(text: str, start: str, section: str) -> str:
    """``text`` with the section that starts at the line ``start`` replaced: it runs up to the next line indented as
    little as ``start`` (or less), or to the end."""
    indent = len(start) - len(start.lstrip())
    match = re.search(r"^%s\n(?:(?:%s .*)?\n)*" % (re.escape(start), " " * indent), text, re.MULTILINE)
    if match is None:
        raise SystemExit("%r not found" % start)
    return text[:match.start()] + section + text[match.end():]


def generated() -> dict[str, str]:
    """Every generated file's path (relative to the repository) and its content as it should be."""
    files = {}
    with open(os.path.join(REPO, DOC_FRAGMENT), encoding="utf-8") as handle:
        files[DOC_FRAGMENT] = replace_section(handle.read(), "options:", fragment_options())
    for role in ROLES:
        path = os.path.join("roles", role, "meta", "argument_specs.yml")
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            files[path] = replace_section(handle.read(), "      %s_connection:" % role, role_connection(role))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="list the stale files and exit 1, writing nothing")
    args = parser.parse_args()
    stale = []
    for path, content in generated().items():
        with open(os.path.join(REPO, path), encoding="utf-8") as handle:
            if handle.read() == content:
                continue
        stale.append(path)
        if not args.check:
            with open(os.path.join(REPO, path), "w", encoding="utf-8") as handle:
                handle.write(content)
    if args.check and stale:
        print("stale, generated from plugins/module_utils/_client/connection_options.py: %s; run 'make sync' and commit them"
              % ", ".join(stale))
        return 1
    print("rewrote %s" % ", ".join(stale) if stale else "the generated copies are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
