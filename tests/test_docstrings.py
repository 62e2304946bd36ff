"""The runnable examples in the public docstrings run and print what they say."""
import doctest
import importlib
import pkgutil

import pytest

import pmfast


def _modules():
    names = ["pmfast"]
    for info in pkgutil.walk_packages(pmfast.__path__, "pmfast."):
        if not info.name.startswith(("pmfast._", "pmfast.cli")):
            names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_the_examples_exist():
    # guard against the collection above silently finding nothing
    counts = {name: sum(len(t.examples)
                        for t in doctest.DocTestFinder().find(importlib.import_module(name)))
              for name in ("pmfast.pricing", "pmfast.portfolio", "pmfast.book")}
    assert all(n > 0 for n in counts.values()), counts
