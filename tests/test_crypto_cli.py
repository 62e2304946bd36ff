"""`pmfast margin --rules deribit --method pm` on files equals the Python API."""
import pandas as pd
from click.testing import CliRunner

import pmfast
from pmfast.cli import main
from crypto_books import AS_OF, book, chain


def test_margin_command_with_the_crypto_rule_set(tmp_path):
    pos, ins, und = chain("inverse", seed=2)
    paths = []
    for name, frame in (("positions", pos), ("instruments", ins), ("underlyings", und)):
        path = tmp_path / f"{name}.parquet"
        frame.to_parquet(path)
        paths.append(str(path))
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(main, ["margin", *paths, "--as-of", AS_OF, "--rules", "deribit",
                                       "--method", "pm", "--out", str(out)])
    assert result.exit_code == 0, result.output
    got = pd.read_csv(out).set_index("account")["pm_requirement"]
    want = pmfast.portfolio_margin(book(pos, ins, und), rules="deribit").accounts
    pd.testing.assert_series_equal(got.sort_index(), want.set_index("account")["requirement"]
                                   .sort_index(), check_names=False, rtol=1e-12)
