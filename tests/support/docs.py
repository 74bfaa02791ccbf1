"""Reading what the guides under docs/docsite/rst print, so that tests run it exactly as printed."""

import os
import re
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def guide_code_block(guide: str, first_line: str) -> str:
    """The text of the code block of docs/docsite/rst/<guide>.rst whose first line is ``first_line``, unindented."""
    with open(os.path.join(REPO, "docs", "docsite", "rst", guide + ".rst"), encoding="utf-8") as handle:
        text = handle.read()
    blocks = re.findall(r"^\.\. code-block:: \w+\n\n((?:(?: {4}.*)?\n)+)", text, flags=re.M)
    [block] = [textwrap.dedent(block).strip("\n") + "\n" for block in blocks if textwrap.dedent(block).startswith(first_line)]
    return block
