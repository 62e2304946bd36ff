"""Published Reg T examples: the spec's Cboe IBM examples and TV-R1 ... TV-R13
(reference/rules-us.md, Part 3), each in the convention its source uses.

pmfast reports ``gross_*`` (Cboe convention: before short option proceeds) and ``initial`` /
``maintenance`` (net of short option proceeds). Every conversion to a source's own convention is
written out next to the assertion.
"""
import pandas as pd
import pytest

import pmfast
from pmfast._reference.strategy import option_row, stock_row
from pmfast.strategy.rules import load_regt_rules

AS_OF = "2027-01-04"
MAR, APR, JUN, SEP = "2027-03-19", "2027-04-16", "2027-06-18", "2027-09-17"


def run(rows, rules="regt"):
    result = pmfast.strategy_margin(pd.DataFrame(rows), as_of=AS_OF, rules=rules)
    return result, result.accounts.set_index("account")


# ---- spec strategy-margin.md: IBM at 97.73, 100 contracts of multiplier 100 ----------------

def test_cboe_ibm_naked_call():
    _, acc = run([option_row("A", "IBM", "C", 100, APR, -100, 1.68, U=97.73)])
    assert acc.loc["A", "initial"] == pytest.approx(172_760, abs=0.005)
    # before proceeds: (1.68 + 19.546 - 2.27) x 10,000
    assert acc.loc["A", "gross_initial"] == pytest.approx(189_560, abs=0.005)


def test_cboe_ibm_naked_put():
    _, acc = run([option_row("A", "IBM", "P", 100, APR, -100, 3.18, U=97.73)])
    assert acc.loc["A", "initial"] == pytest.approx(195_460, abs=0.005)


def test_cboe_ibm_covered_call():
    result, acc = run([stock_row("A", "IBM", 10_000, 97.73),
                       option_row("A", "IBM", "C", 100, APR, -100, 1.68, U=97.73)])
    assert acc.loc["A", "initial"] == pytest.approx(471_850, abs=0.005)
    strategies = result.strategies
    assert set(strategies["strategy"]) == {"covered_call"}
    # maintenance values the stock at no more than the strike: 25% x min(97.73, 100) x 10,000
    assert acc.loc["A", "gross_maintenance"] == pytest.approx(0.25 * 97.73 * 10_000)


def test_cboe_ibm_call_spread():
    result, acc = run([option_row("A", "IBM", "C", 95, APR, 100, 4.53, U=97.73),
                       option_row("A", "IBM", "C", 105, APR, -100, 0.40, U=97.73)])
    assert acc.loc["A", "initial"] == pytest.approx(41_300, abs=0.005)
    assert result.strategies.query("basis == 'initial'")["strategy"].tolist() == ["vertical"]


def test_seed_acme_long_stock():
    _, acc = run([stock_row("A", "ACME", 100, 500.0)])
    assert acc.loc["A", "initial"] == pytest.approx(25_000)
    assert acc.loc["A", "maintenance"] == pytest.approx(12_500)


# ---- TV-R1 ... TV-R13 ------------------------------------------------------------------------

@pytest.mark.parametrize("house_floor", [0.0, 2.50])
def test_tv_r1_naked_put(house_floor):
    # tastytrade quotes the requirement before proceeds ($750 = our gross) and the buying-power
    # effect after the $50 proceeds ($700 = our net). Their $2.50/share floor does not bind.
    rules = load_regt_rules().replace(options__naked_floor_per_share=house_floor)
    _, acc = run([option_row("A", "XYZ", "P", 45, MAR, -1, 0.50, U=47.50)], rules)
    assert acc.loc["A", "gross_initial"] == pytest.approx(750)
    assert acc.loc["A", "initial"] == pytest.approx(700)


def test_tv_r2_short_strangle():
    # tastytrade: $1,030 = the call's naked requirement 910 + the put's premium 120, i.e. the
    # requirement before proceeds (our gross).
    result, acc = run([option_row("A", "XYZ", "C", 47, MAR, -1, 2.10, U=45.0),
                       option_row("A", "XYZ", "P", 43, MAR, -1, 1.20, U=45.0)])
    assert acc.loc["A", "gross_initial"] == pytest.approx(1_030)
    assert acc.loc["A", "initial"] == pytest.approx(1_030 - 330)
    assert result.strategies["strategy"].unique().tolist() == ["short_strangle"]


def test_tv_r3_short_calendar_is_not_a_spread():
    # The long expires first: the short is naked and the long is paid in full. tastytrade's
    # $2,500 (20%) and older $2,900 (25% house rate) are before proceeds (our gross).
    rows = [option_row("A", "XYZ", "C", 43, MAR, 2, 3.50, U=40.0),
            option_row("A", "XYZ", "C", 43, JUN, -2, 4.00, U=40.0)]
    _, acc = run(rows)
    assert acc.loc["A", "gross_initial"] == pytest.approx(2_500)
    house = load_regt_rules().replace(naked__equity__rate=0.25)
    _, acc = run(rows, house)
    assert acc.loc["A", "gross_initial"] == pytest.approx(2_900)


def test_tv_r4_long_calendar():
    # tastytrade: $800 net debit = (3.00 - 1.00) x 400, i.e. after proceeds (our net).
    result, acc = run([option_row("A", "XYZ", "C", 43, JUN, 4, 3.00, U=40.0),
                       option_row("A", "XYZ", "C", 43, MAR, -4, 1.00, U=40.0)])
    assert acc.loc["A", "initial"] == pytest.approx(800)
    assert result.strategies["strategy"].unique().tolist() == ["calendar"]


def test_tv_r5_iron_condor():
    # tastytrade quotes the wider wing's width x 2 x 100 = $600 with premiums not netted and the
    # longs not counted: their figure = our gross - value of the long legs.
    result, acc = run([option_row("A", "XYZ", "P", 50, MAR, 2, 0.80, U=60.0),
                       option_row("A", "XYZ", "P", 53, MAR, -2, 1.25, U=60.0),
                       option_row("A", "XYZ", "C", 67, MAR, -2, 2.00, U=60.0),
                       option_row("A", "XYZ", "C", 70, MAR, 2, 0.75, U=60.0)])
    long_value = acc.loc["A", "long_option_value"]
    assert long_value == pytest.approx((0.80 + 0.75) * 200)
    assert acc.loc["A", "gross_initial"] - long_value == pytest.approx(600)
    assert result.strategies["strategy"].unique().tolist() == ["iron_condor"]


def test_tv_r6_short_put_butterfly():
    # tastytrade: $1,500 = wing width 5 x 3 x 100, premiums not netted, longs not counted:
    # their figure = our gross - value of the long legs.
    _, acc = run([option_row("A", "XYZ", "P", 75, MAR, -3, 1.50, U=80.0),
                  option_row("A", "XYZ", "P", 80, MAR, 6, 4.00, U=80.0),
                  option_row("A", "XYZ", "P", 85, MAR, -3, 6.00, U=80.0)])
    assert acc.loc["A", "gross_initial"] - acc.loc["A", "long_option_value"] == \
        pytest.approx(1_500)


def test_tv_r7_long_call_butterfly():
    # tastytrade: $800 = the net debit (our net).
    result, acc = run([option_row("A", "XYZ", "C", 40, MAR, 4, 12.50, U=50.0),
                       option_row("A", "XYZ", "C", 50, MAR, -8, 6.00, U=50.0),
                       option_row("A", "XYZ", "C", 60, MAR, 4, 1.50, U=50.0)])
    assert acc.loc["A", "initial"] == pytest.approx(800)
    assert result.strategies["strategy"].unique().tolist() == ["long_butterfly"]


def test_tv_r8_naked_put_edeltapro():
    # eDeltaPro: $3,400 requirement (our gross); $3,280 call after $120 proceeds (our net).
    _, acc = run([option_row("A", "XYZ", "P", 200, SEP, -1, 1.20, U=209.0)])
    assert acc.loc["A", "gross_initial"] == pytest.approx(3_400)
    assert acc.loc["A", "initial"] == pytest.approx(3_280)


def test_tv_r9_put_credit_spread():
    # eDeltaPro: $580 = $500 width + $80 long cost (our gross); $456 after $124 (our net).
    _, acc = run([option_row("A", "XYZ", "P", 120, SEP, 1, 0.80, U=130.0),
                  option_row("A", "XYZ", "P", 125, SEP, -1, 1.24, U=130.0)])
    assert acc.loc["A", "gross_initial"] == pytest.approx(580)
    assert acc.loc["A", "initial"] == pytest.approx(456)


def test_tv_r10_naked_put_itm_premium():
    # optionsfornewbies: $2,340 before proceeds (our gross). The option is far out; only the
    # rule arithmetic matters, so the expiry is set inside the test's horizon.
    _, acc = run([option_row("A", "XYZ", "P", 65, SEP, -1, 11.20, U=66.0)])
    assert acc.loc["A", "gross_initial"] == pytest.approx(2_340)


def test_tv_r11_short_put_butterfly_weak_vector():
    # OptionsHouse (flagged weak in the spec): $3,060 = the credit spread's width (short 42 /
    # long 37: 5 x 6 x 100 = 3,000, longs not counted) + the debit spread's net debit (long 37 /
    # short 32: (0.15 - 0.05) x 600 = 60). In our terms: gross - the credit spread's long value
    # (6 x 0.15 x 100 = 90) - the debit spread's short proceeds (6 x 0.05 x 100 = 30).
    result, acc = run([option_row("A", "XYZ", "P", 42, MAR, -6, 0.90, U=40.0),
                       option_row("A", "XYZ", "P", 37, MAR, 12, 0.15, U=40.0),
                       option_row("A", "XYZ", "P", 32, MAR, -6, 0.05, U=40.0)])
    assert acc.loc["A", "gross_initial"] - 90 - 30 == pytest.approx(3_060)


@pytest.mark.parametrize("shares, price, maintenance", [
    (1_000, 50.0, 15_000), (10_000, 5.0, 50_000), (10_000, 4.50, 45_000),
    (50_000, 1.00, 125_000)])
def test_tv_r12_short_stock_maintenance(shares, price, maintenance):
    # NYSE/NASD examples: maintenance of the short position (no options: gross = net).
    _, acc = run([stock_row("A", "XYZ", -shares, price)])
    assert acc.loc["A", "maintenance"] == pytest.approx(maintenance)
    assert acc.loc["A", "initial"] == pytest.approx(0.5 * shares * price)


@pytest.mark.parametrize("group_type", ["broad_index", "high_cap_index"])
def test_tv_r13_spx_naked_call(group_type):
    # Cboe 2007 table: $2,088,685 net of proceeds (our net), broad-based 15% rate.
    _, acc = run([option_row("A", "SPX", "C", 1460, MAR, -100, 21.66, U=1451.19,
                             group_type=group_type)])
    assert acc.loc["A", "initial"] == pytest.approx(2_088_685, abs=0.01)


@pytest.mark.parametrize("leverage, long_rate, short_rate", [
    (2.0, 0.50, 0.60), (3.0, 0.75, 0.90), (-2.0, 0.50, 0.60), (-3.0, 0.75, 0.90)])
def test_leveraged_fund_maintenance(leverage, long_rate, short_rate):
    # FINRA RN 09-53: 2x long 50%, 3x long 75%, 2x short 60%, 3x short 90% (inverse the same).
    _, acc = run([stock_row("L", "LEV", 1_000, 40.0, leverage=leverage),
                  stock_row("S", "LEV", -1_000, 40.0, leverage=leverage)])
    assert acc.loc["L", "maintenance"] == pytest.approx(long_rate * 40_000)
    assert acc.loc["S", "maintenance"] == pytest.approx(short_rate * 40_000)
    assert acc.loc["L", "initial"] == pytest.approx(0.5 * 40_000)


def test_leveraged_fund_naked_option_scaled():
    # Options on a 2x fund: 20% and 10% both times 2.
    _, acc = run([option_row("A", "LEV", "P", 40, MAR, -1, 1.0, U=40.0, leverage=2.0)])
    assert acc.loc["A", "gross_initial"] == pytest.approx((1.0 + 0.40 * 40) * 100)


def test_leaps_long_option_75_percent():
    # More than 9 calendar months to expiry: 75%; at most 9 months: 100%.
    _, acc = run([option_row("A", "XYZ", "C", 50, "2027-10-05", 1, 10.0, U=50.0),
                  option_row("B", "XYZ", "C", 50, "2027-10-04", 1, 10.0, U=50.0)])
    assert acc.loc["A", "initial"] == pytest.approx(750)
    assert acc.loc["B", "initial"] == pytest.approx(1_000)


@pytest.mark.parametrize("P, expected", [(95.0, 14.0), (100.0, 19.0)])
def test_protective_put_maintenance(P, expected):
    # Maintenance min(10% K + put OTM, 25% of stock) per share + the put at value.
    # K = 90: P 95 -> min(9 + 5, 23.75) = 14; P 100 -> min(9 + 10, 25) = 19.
    _, acc = run([stock_row("A", "XYZ", 100, P),
                  option_row("A", "XYZ", "P", 90, MAR, 1, 1.0, U=P)])
    assert acc.loc["A", "maintenance"] == pytest.approx(100 + expected * 100)
    assert acc.loc["A", "initial"] == pytest.approx(100 + 0.5 * P * 100)


def test_conversion_and_reverse_conversion_maintenance():
    # Conversion: put at value + 10% of aggregate K; reverse: call at value + 10% K + put ITM.
    result, acc = run([stock_row("C", "XYZ", 100, 52.0),
                       option_row("C", "XYZ", "P", 50, MAR, 1, 1.0, U=52.0),
                       option_row("C", "XYZ", "C", 50, MAR, -1, 3.2, U=52.0),
                       stock_row("R", "ABC", -100, 48.0),
                       option_row("R", "ABC", "P", 50, MAR, -1, 2.5, U=48.0),
                       option_row("R", "ABC", "C", 50, MAR, 1, 0.6, U=48.0)])
    s = result.strategies.set_index(["account", "basis"])["strategy"]
    assert s.loc[("C", "maintenance")] == "conversion"
    assert acc.loc["C", "gross_maintenance"] == pytest.approx(100 + 0.10 * 50 * 100)
    assert s.loc[("R", "maintenance")] == "reverse_conversion"
    assert acc.loc["R", "gross_maintenance"] == pytest.approx(60 + (5.0 + 2.0) * 100)


def test_covered_put_adds_put_itm_amount():
    # Short stock initial 50% + put ITM (K 50 - U 48 = 2) per share.
    result, acc = run([stock_row("A", "XYZ", -100, 48.0),
                       option_row("A", "XYZ", "P", 50, MAR, -1, 2.5, U=48.0)])
    assert acc.loc["A", "gross_initial"] == pytest.approx((0.5 * 48 + 2.0) * 100)
    assert "covered_put" in set(result.strategies["strategy"])
