"""`python -m pmfast`: price a small scenario grid and print it (a smoke test of the install)."""
import numpy as np

from pmfast import pricing


def main():
    moves = np.linspace(-0.15, 0.15, 10)
    right = np.array(["C", "P", "C", "P"])
    strikes = np.array([95.0, 95.0, 105.0, 105.0])
    values = pricing.reprice_grid(right, 100.0, strikes, 30 / 365, 0.045, 0.01, 0.25, moves,
                                  style="european")
    print("European values, S = 100, 30 days, vol 25%, spot moves across:")
    print("           " + " ".join(f"{m:+7.0%}" for m in moves))
    for rt, k, row in zip(right, strikes, values):
        print(f"{rt} {k:7.2f}  " + " ".join(f"{v:7.3f}" for v in row))


if __name__ == "__main__":
    main()
