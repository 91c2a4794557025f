"""The package face: `help(qrepeater)` lists the main entry points and every one of them resolves."""

import pydoc
import subprocess
import sys

import qrepeater


def test_every_exported_name_resolves_and_is_named_in_the_docstring():
    for name in qrepeater.__all__:
        assert getattr(qrepeater, name) is not None
        if name != "__version__":
            assert name in qrepeater.__doc__, name
    text = pydoc.render_doc(qrepeater, renderer=pydoc.plaintext)
    assert "link_metrics(scenario)" in text and "reproduce(preset)" in text


def test_import_qrepeater_loads_no_layer():
    """`import qrepeater` is instant: the face loads its exports on first use only."""
    code = "import sys, qrepeater; print(sorted(m for m in sys.modules if m.startswith('qrepeater.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['qrepeater.version']"
