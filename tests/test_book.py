"""pmfast.Book: reading every input kind, netting, encoding, and every bad-input path."""
import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import pmfast

AS_OF = "2026-11-20"


def tables():
    positions = pd.DataFrame({
        "account": ["B", "A", "A", "B", "A", "C"],
        "instrument": ["ACME", "ACME", "ACME 510C", "SPY", "ACME", "ES F"],
        "quantity": [10.0, 100.0, -1.0, 5.0, 50.0, 2.0],
    })
    instruments = pd.DataFrame({
        "instrument": ["ACME", "ACME 510C", "SPY", "ES F", "ES 5000P", "ACME 450P"],
        "kind": ["equity", "option", "equity", "future", "future_option", "option"],
        "underlying": ["ACME", "ACME", "SPY", "SPX", "SPX", "ACME"],
        "right": [None, "C", None, None, "P", "p"],
        "strike": [np.nan, 510.0, np.nan, np.nan, 5000.0, 450.0],
        "expiry": [None, "2026-12-20", None, "2026-12-18", "2026-12-18", "2027-01-15"],
        "style": [None, None, None, None, "european", "AMERICAN"],
        "multiplier": [np.nan, np.nan, np.nan, 50.0, 50.0, np.nan],
        "price": [np.nan, 5.0, np.nan, 5010.0, 40.0, 3.0],
        "implied_vol": [np.nan, np.nan, np.nan, np.nan, 0.2, np.nan],
        "future": [None, None, None, None, "ES F", None],
    })
    underlyings = pd.DataFrame({
        "underlying": ["ACME", "SPY", "SPX"],
        "price": [500.0, 600.0, 6000.0],
        "group_type": ["equity", "high_cap_index", "high_cap_index"],
        "product_group": [None, "SP500", "SP500"],
        "leverage": [1.0, 1.0, 1.0],
    })
    product_groups = pd.DataFrame({"product_group": ["SP500"], "offset": [0.9]})
    return positions, instruments, underlyings, product_groups


def make(positions=None, instruments=None, underlyings=None, product_groups=None, **kw):
    p, i, u, g = tables()
    return pmfast.Book(p if positions is None else positions, i if instruments is None else
                       instruments, u if underlyings is None else underlyings,
                       g if product_groups is None else product_groups, as_of=AS_OF,
                       rate=0.045, **kw)


def test_contract_attributes():
    book = make()
    assert book.as_of == datetime.date(2026, 11, 20) and book.rate == 0.045
    assert book.account_ids.tolist() == ["A", "B", "C"]
    ins = book.instruments
    assert ins.column_names[:13] == ["instrument", "kind", "underlying", "underlying_code",
                                     "right_code", "strike", "expiry", "T", "style",
                                     "multiplier", "price", "implied_vol", "future_code"]
    assert ins.schema.field("underlying_code").type == pa.int32()
    assert ins.schema.field("right_code").type == pa.int8()
    assert ins.schema.field("expiry").type == pa.date32()
    assert ins.schema.field("future_code").type == pa.int32()
    d = ins.to_pandas().set_index("instrument")
    assert d.loc["ACME", "multiplier"] == 1 and d.loc["ACME 510C", "multiplier"] == 100
    assert d.loc["ACME", "price"] == 500.0            # equity defaults to the underlying price
    assert d.loc["ACME 510C", "T"] == pytest.approx(30 / 365)
    assert d.loc["ACME", "T"] == 0 and pd.isna(d.loc["ACME", "style"])
    assert d.loc["ACME 510C", "right_code"] == 1 and d.loc["ACME 450P", "right_code"] == -1
    assert d.loc["ACME 450P", "style"] == "american" and d.loc["ACME 510C", "style"] == "american"
    assert d.loc["ES 5000P", "future_code"] == ins.column("instrument").to_pylist().index("ES F")
    assert d.loc["ES F", "future_code"] == -1
    assert pd.isna(d.loc["ACME 510C", "implied_vol"])
    und = book.underlyings.to_pandas()
    assert und["underlying"].tolist() == ["ACME", "SPY", "SPX"]
    assert pd.isna(und.loc[0, "product_group"]) and und.loc[1, "product_group"] == "SP500"
    assert book.product_groups.column_names == ["product_group", "offset", "down", "up"]
    assert book.errors.empty and list(book.errors.columns) == ["account", "table", "column",
                                                               "reason"]


def test_positions_are_netted_and_sorted():
    pos = make().positions.to_pandas()
    ids = make().instruments.column("instrument").to_pylist()
    assert pos["account_code"].is_monotonic_increasing
    keys = list(zip(pos["account_code"], pos["instrument_code"]))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    a_acme = pos[(pos.account_code == 0) & (pos.instrument_code == ids.index("ACME"))]
    assert a_acme["quantity"].tolist() == [150.0]       # 100 + 50
    assert len(pos) == 5


def test_zero_net_account_kept():
    p = pd.DataFrame({"account": ["Z", "Z", "A"], "instrument": ["ACME", "ACME", "SPY"],
                      "quantity": [5.0, -5.0, 1.0]})
    book = make(positions=p)
    assert book.account_ids.tolist() == ["A", "Z"]
    assert book.positions.to_pandas()["quantity"].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "dict"])
def test_input_kinds(kind):
    p, i, u, g = tables()
    conv = {"pandas": lambda d: d,
            "polars": lambda d: __import__("polars").from_pandas(d),
            "arrow": lambda d: pa.Table.from_pandas(d, preserve_index=False),
            "dict": lambda d: {c: d[c].tolist() for c in d.columns}}[kind]
    book = pmfast.Book(conv(p), conv(i), conv(u), conv(g), as_of=AS_OF)
    assert book.positions.equals(make().positions)
    np.testing.assert_array_equal(book.instruments.column("T"), make().instruments.column("T"))


@pytest.mark.parametrize("ext", ["parquet", "csv", "arrow", "feather"])
def test_input_files(tmp_path, ext):
    import pyarrow.csv as pacsv
    import pyarrow.feather as feather
    import pyarrow.parquet as pq
    paths = []
    for name, frame in zip(("positions", "instruments", "underlyings", "product_groups"),
                           tables()):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        path = tmp_path / f"{name}.{ext}"
        {"parquet": pq.write_table, "csv": pacsv.write_csv,
         "arrow": feather.write_feather, "feather": feather.write_feather}[ext](table, path)
        paths.append(str(path))
    book = pmfast.Book(*paths, as_of=AS_OF)
    assert book.positions.equals(make().positions)
    np.testing.assert_array_equal(book.instruments.column("strike"),
                                  make().instruments.column("strike"))


def test_unknown_file_type(tmp_path):
    with pytest.raises(pmfast.InputError, match=r"positions: .*\.xlsx"):
        pmfast.Book(str(tmp_path / "p.xlsx"), *tables()[1:])


# --- every bad-input case: (table, mutate, message pattern, rejected accounts) -----------------
def _set(frame_idx, column, row, value):
    def mutate(t):
        t = [f.copy() for f in t]
        frame = t[frame_idx]
        if column not in frame.columns:
            frame[column] = None
        frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value
        return t
    return mutate


BAD = [
    ("unknown instrument", _set(0, "instrument", 2, "NOPE"),
     r"positions\.instrument: unknown instrument .* account\(s\) 'A'", {"A"}),
    ("quantity text", _set(0, "quantity", 3, "lots"),
     r"positions\.quantity: not a number .* account\(s\) 'B'", {"B"}),
    ("quantity NaN", _set(0, "quantity", 5, np.nan),
     r"positions\.quantity: missing or not finite .* account\(s\) 'C'", {"C"}),
    ("duplicate instrument", _set(1, "instrument", 5, "ACME 510C"),
     r"instruments\.instrument: duplicate id .* 'ACME 510C'", {"A"}),
    ("negative strike", _set(1, "strike", 1, -510.0),
     r"instruments\.strike: negative or zero for instrument\(s\) 'ACME 510C'", {"A"}),
    ("strike text", _set(1, "strike", 1, "abc"),
     r"instruments\.strike: not a number for instrument\(s\) 'ACME 510C'", {"A"}),
    ("right", _set(1, "right", 1, "X"), r"instruments\.right: must be C or P .*'ACME 510C'",
     {"A"}),
    ("expired", _set(1, "expiry", 1, "2026-11-19"),
     r"instruments\.expiry: expired before as_of 2026-11-20 .*'ACME 510C'", {"A"}),
    ("bad date", _set(1, "expiry", 1, "soon"), r"instruments\.expiry: not a date .*'ACME 510C'",
     {"A"}),
    ("zero multiplier", _set(1, "multiplier", 1, 0.0),
     r"instruments\.multiplier: must be > 0 .*'ACME 510C'", {"A"}),
    ("negative price", _set(1, "price", 1, -1.0), r"instruments\.price: negative .*'ACME 510C'",
     {"A"}),
    ("unknown kind", _set(1, "kind", 1, "swap"), r"instruments\.kind: must be one of .*'ACME 510C'",
     {"A"}),
    ("unknown underlying", _set(1, "underlying", 1, "ZZZ"),
     r"instruments\.underlying: unknown underlying .*'ACME 510C'", {"A"}),
    ("future missing", _set(1, "future", 4, "NOPE"),
     r"instruments\.future: future option whose future is missing .*'ES 5000P'", set()),
    ("future multiplier", _set(1, "multiplier", 3, np.nan),
     r"instruments\.multiplier: required for futures .*'ES F'", {"C"}),
    ("underlying price", _set(2, "price", 0, -5.0),
     r"underlyings\.price: must be > 0 for underlying\(s\) 'ACME'", {"A", "B"}),
    ("underlying NaN price", _set(2, "price", 0, np.nan),
     r"underlyings\.price: missing or not finite for underlying\(s\) 'ACME'", {"A", "B"}),
    ("zero leverage", _set(2, "leverage", 1, 0.0),
     r"underlyings\.leverage: must be non-zero for underlying\(s\) 'SPY'", {"B"}),
    ("group type", _set(2, "group_type", 1, "mega"),
     r"underlyings\.group_type: must be one of .*'SPY'", {"B"}),
    ("duplicate underlying", _set(2, "underlying", 2, "SPY"),
     r"underlyings\.underlying: duplicate id .*'SPY'", {"B", "C"}),
    ("mixed group types", _set(2, "group_type", 1, "broad_index"),
     r"underlyings\.group_type: product group mixes group types .*'SPY', 'SPX'", {"B", "C"}),
    ("offset", _set(3, "offset", 0, 1.5),
     r"product_groups\.offset: must be in \[0, 1\] for product group\(s\) 'SP500'", {"B", "C"}),
]


@pytest.mark.parametrize("name,mutate,pattern,rejected", BAD, ids=[b[0] for b in BAD])
def test_bad_input_raises(name, mutate, pattern, rejected):
    with pytest.raises(pmfast.InputError, match=pattern):
        make(*mutate(tables()))


@pytest.mark.parametrize("name,mutate,pattern,rejected", BAD, ids=[b[0] for b in BAD])
def test_bad_input_collected(name, mutate, pattern, rejected):
    book = make(*mutate(tables()), errors="collect")
    assert set(book.errors["account"]) == rejected
    assert book.account_ids.tolist() == ["A", "B", "C"]      # nobody disappears
    kept = set(book.account_ids[np.unique(book.positions.column("account_code").to_numpy())])
    assert kept.isdisjoint(rejected)
    assert kept == {"A", "B", "C"} - rejected
    if rejected:
        table, column = pattern.split(":")[0].replace("\\", "").split(".")
        assert (table, column) in set(zip(book.errors["table"], book.errors["column"]))
        assert book.errors["reason"].str.startswith(tuple(
            f"{t}.{c}:" for t, c in zip(book.errors["table"], book.errors["column"]))).all()


def test_mixed_group_types_ok_with_override():
    p, i, u, g = tables()
    u.loc[1, "group_type"] = "broad_index"
    g["down"], g["up"] = [-0.1], [0.08]
    book = pmfast.Book(p, i, u, g, as_of=AS_OF)
    assert book.errors.empty


@pytest.mark.parametrize("frame_idx,column", [(0, "quantity"), (1, "kind"), (2, "price"),
                                              (0, "account")])
def test_missing_required_column(frame_idx, column):
    t = list(tables())
    t[frame_idx] = t[frame_idx].drop(columns=[column])
    table = ["positions", "instruments", "underlyings"][frame_idx]
    with pytest.raises(pmfast.InputError, match=rf"{table}\.{column}: required column missing"):
        make(*t, errors="collect")


def test_null_account_id_is_fatal():
    p = tables()[0]
    p.loc[2, "account"] = None
    with pytest.raises(pmfast.InputError, match=r"positions\.account: missing \(null\) id at "
                                                 r"row\(s\) 2"):
        make(positions=p, errors="collect")


@pytest.mark.parametrize("kw,pattern", [({"as_of": "someday"}, "as_of"),
                                        ({"rate": "x"}, "rate"), ({"errors": "ignore"}, "errors")])
def test_bad_arguments(kw, pattern):
    args = dict(as_of=AS_OF)
    args.update(kw)
    with pytest.raises(pmfast.InputError, match=pattern):
        pmfast.Book(*tables(), **args)


def test_equity_without_underlying_is_its_own_class():
    p, i, u, g = tables()
    i.loc[0, "underlying"] = None
    book = pmfast.Book(p, i, u, g, as_of=AS_OF)
    assert book.instruments.column("underlying")[0].as_py() == "ACME"
