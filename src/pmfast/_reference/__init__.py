"""Plain numpy twins of every compiled kernel: slow, obvious, and the oracle the tests compare
the C++ core against (RapidFuzz's pattern). Never used on a production path."""
