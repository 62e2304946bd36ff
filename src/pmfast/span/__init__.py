"""SPAN margin on exchange risk-parameter files (SPAN XML ``.spn`` and CME positional pa2).

``load(path)`` reads a file into ``SpanParams``; ``span_margin(positions, params)`` margins every
account in one call (C++ core, threaded); ``variation_margin(positions, today, previous)`` is the
daily settlement-to-settlement mark of futures and futures-style options. See docs/span.md.
"""
import os
import pathlib

from pmfast.errors import InputError
from pmfast.span.params import SpanParams


def load(path):
    """Load a SPAN risk-parameter file, recognising SPAN XML or CME pa2 by its content.

    Parameters
    ----------
    path : str, os.PathLike or bytes
        Path of the file, or its raw bytes.

    Returns
    -------
    SpanParams
        Contracts with risk arrays, composite deltas, prices and contract value factors;
        combined commodities with tiers, spreads, short option minimums and maintenance ratios;
        inter-commodity spreads; currency conversions.

    Raises
    ------
    pmfast.InputError
        On anything malformed or unknown, naming the element or record and its line.
    """
    if isinstance(path, (bytes, bytearray)):
        raw, source = bytes(path), "<bytes>"
    else:
        p = pathlib.Path(os.fspath(path))
        if not p.is_file():
            raise InputError(f"span.load: file {str(p)!r} does not exist")
        raw, source = p.read_bytes(), str(p)
    head = raw[:200].lstrip()
    if head.startswith(b"<"):
        from pmfast.span.xml_loader import parse_xml
        return parse_xml(raw, source)
    if head[:2] == b"0 ":
        from pmfast.span.pa2 import parse_pa2
        return parse_pa2(raw, source)
    raise InputError(f"{source}: neither SPAN XML (starts with '<') nor a CME pa2 file (first "
                     f"record type '0 '): starts with {head[:20]!r}")


from pmfast.span.engine import SpanResult, span_margin  # noqa: E402  (after load: engine uses it)
from pmfast.span.variation import VariationResult, variation_margin  # noqa: E402


__all__ = ["load", "span_margin", "variation_margin", "SpanParams", "SpanResult",
           "VariationResult"]
