"""The pmfast exception hierarchy.

``InputError`` subclasses ``ValueError`` (as pyarrow's errors subclass the matching builtin), so
callers may catch either. Messages name the table, the column and the first offending ids.
"""


class PmfastError(Exception):
    """Base class of every error pmfast raises on purpose."""


class InputError(PmfastError, ValueError):
    """Bad input: names the table (or argument), the column and the offending rows or ids."""
