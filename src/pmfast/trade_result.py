"""The before/after figures of a what-if answer, shared by the equity and crypto sessions'
results (``whatif.WhatIfResult``, ``crypto.whatif.CryptoWhatIfResult``). A module of its own
because ``pmfast.whatif`` imports the crypto session: the crypto result cannot import it."""


class BeforeAfter:
    """``requirement_before``, ``requirement_after`` and ``change = after - before`` of a
    result whose ``before`` and ``after`` margins have a ``requirement``."""
    __slots__ = ()

    @property
    def requirement_before(self):
        return self.before.requirement

    @property
    def requirement_after(self):
        return self.after.requirement

    @property
    def change(self):
        return self.after.requirement - self.before.requirement
