"""The README's example: the blob it embeds is `javm asm` of the assembly it shows, and the
Python block prints exactly the output the README documents."""
import contextlib
import io
import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def block(lang: str, index: int = 0) -> str:
    return re.findall(r"```" + lang + r"\n(.*?)```", README, re.S)[index]


def test_readme_blob_is_the_assembled_source(asm):
    hexblob = re.search(r'bytes\.fromhex\("([0-9a-f]+)"\)', block("python")).group(1)
    assert asm(block("asm")) == bytes.fromhex(hexblob)


def test_readme_example_runs_and_prints_what_it_says():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block("python"), "README.md", "exec"), {"__name__": "readme"})
    documented = re.search(r"prints\n\n```\n(.*?)```", README, re.S).group(1)
    assert out.getvalue() == documented
