"""The one Python mirror of the integer codes the C++ core and the engines share.

Three different things were once all called "model" or "kind" with clashing numbers; each has
one name here:

* ``KINDS`` / ``KIND_*``: what an instrument is (the ``kind`` column of ``instruments``).
  The Book stores the code in ``instruments.kind_code``.
* ``VALUATION_*``: how the revaluation layer values it (an American or European option on a
  spot, an option on a future, or linear in its own price). Derived once from kind and style by
  :func:`valuation_codes`; :func:`pricing_model` maps a valuation code to the pricing model of
  a rule set (the one place the rule set's ``american_model`` is applied).
* ``MODELS``: the pricing models of the C++ ``enum class Model``
  (src/cpp/pmfast_core/pricing/options.hpp).
* ``LEG_*``: the Reg T leg kinds of src/cpp/pmfast_core/regt/regt_types.hpp (``kLegStock``,
  ``kLegCall``, ``kLegPut``; ``LEG_OTHER`` is a Python-only marker for futures and future
  options, which Reg T leaves to SPAN).

Adding an instrument kind (crypto perpetuals, SPAN futures): append to ``KINDS`` and say in
:func:`valuation_codes` how it is valued; nothing else branches on the kind text.
"""
import numpy as np

KINDS = ("equity", "option", "future", "future_option", "perpetual")
KIND_EQUITY, KIND_OPTION, KIND_FUTURE, KIND_FUTURE_OPTION, KIND_PERPETUAL = range(5)

VALUATION_AMERICAN, VALUATION_BSM, VALUATION_BLACK76, VALUATION_LINEAR = 0, 1, 2, 3

# Model codes shared with src/cpp/pmfast_core/pricing/options.hpp (enum class Model).
MODELS = {"bsm": 0, "black76": 1, "bjs1993": 2, "bjs2002": 3, "crr": 4, "fixed_point": 5}

# Reg T leg kinds shared with src/cpp/pmfast_core/regt/regt_types.hpp (kLeg*).
LEG_STOCK, LEG_CALL, LEG_PUT, LEG_OTHER = 0, 1, -1, 2


def kind_codes(kind):
    """int8 code (index into ``KINDS``) of each kind text; -1 for anything else."""
    kind = np.asarray(kind, dtype=object)
    out = np.full(kind.shape, -1, dtype=np.int8)
    for code, name in enumerate(KINDS):
        out[kind == name] = code
    return out


def is_option(kind_code):
    """Options on a spot and options on a future (both need a volatility)."""
    kind_code = np.asarray(kind_code)
    return (kind_code == KIND_OPTION) | (kind_code == KIND_FUTURE_OPTION)


def valuation_codes(kind_code, style):
    """int8 ``VALUATION_*`` of each instrument from its kind code and exercise style
    (``"american"`` / ``"european"``, anything for non-options)."""
    kind_code = np.asarray(kind_code)
    style = np.asarray(style, dtype=object)
    out = np.full(kind_code.shape, VALUATION_LINEAR, dtype=np.int8)
    out[(kind_code == KIND_OPTION) & (style == "american")] = VALUATION_AMERICAN
    out[(kind_code == KIND_OPTION) & (style == "european")] = VALUATION_BSM
    out[kind_code == KIND_FUTURE_OPTION] = VALUATION_BLACK76
    return out


def pricing_model(valuation, american_model):
    """(style, model name) the pricing functions take for one ``VALUATION_*`` code, under the
    rule set's ``american_model``."""
    if valuation == VALUATION_AMERICAN:
        return "american", american_model
    if valuation == VALUATION_BLACK76:
        return "european", "black76"
    if valuation == VALUATION_BSM:
        return "european", "bsm"
    raise ValueError(f"valuation code {valuation!r} is not an option")


def leg_kinds(kind_code, right_code):
    """int8 ``LEG_*`` of each instrument: shares, calls and puts on a spot; futures and future
    options are ``LEG_OTHER`` (outside Reg T)."""
    kind_code = np.asarray(kind_code)
    return np.where(kind_code == KIND_EQUITY, LEG_STOCK,
                    np.where(kind_code == KIND_OPTION, right_code, LEG_OTHER)).astype(np.int8)
