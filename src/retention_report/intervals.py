"""Confidence intervals for proportions (retention rates, shares of answers).

The Wilson score interval is used rather than the textbook Wald interval
p +/- z*sqrt(p(1-p)/n) because the report shows many small segments: Wald
collapses to a zero-width interval at 0/n and n/n and leaves [0, 1] for
small n, while Wilson stays inside [0, 1] and keeps close to its nominal
coverage (Newcombe 1998, Statistics in Medicine 17:857-872).
"""

from __future__ import annotations

import numpy as np

Z_95 = 1.959963984540054
"""Two-sided 95% normal quantile, the same value lifelines and scipy use."""


def wilson_interval(successes, n, z: float = Z_95):
    """Wilson score interval for `successes` out of `n`, on the 0..1 scale.

    Scalars give a `(low, high)` tuple of floats; arrays (broadcast together)
    give a tuple of float arrays, so a whole table of segments is one call.
    `n == 0` gives `(nan, nan)`: with no customers there is nothing to
    estimate, and a report cell should show a gap rather than raise.
    """
    s = np.asarray(successes, dtype=float)
    total = np.asarray(n, dtype=float)
    if np.any(np.isnan(s)) or np.any(np.isnan(total)):
        raise ValueError("successes and n must not be NaN.")
    if np.any(total < 0) or np.any(s < 0) or np.any(s > total):
        raise ValueError("need 0 <= successes <= n.")
    if not z > 0:
        raise ValueError("z must be positive.")

    with np.errstate(divide="ignore", invalid="ignore"):
        # Closed form: (2s + z^2 +/- z*sqrt(z^2 + 4s(n-s)/n)) / (2(n + z^2)).
        centre = 2.0 * s + z * z
        spread = z * np.sqrt(z * z + 4.0 * s * (total - s) / total)
        denominator = 2.0 * (total + z * z)
        low = (centre - spread) / denominator
        high = (centre + spread) / denominator
    # The bounds are exactly 0 at 0/n and exactly 1 at n/n; say so instead of
    # leaving rounding noise such as -1e-17 in a published table.
    low = np.where(s == 0, 0.0, np.clip(low, 0.0, 1.0))
    high = np.where(s == total, 1.0, np.clip(high, 0.0, 1.0))
    empty = total == 0
    low = np.where(empty, np.nan, low)
    high = np.where(empty, np.nan, high)

    if low.ndim == 0:
        return float(low), float(high)
    return low, high


def ratio_of_sums_se(residual_sum_of_squares: float, denominator_sum: float, n: int) -> float:
    """Standard error of a ratio of sums R = sum(y) / sum(x) over n units (net revenue retention: revenue kept
    over revenue before, per customer), by the ratio estimator's linearisation (Cochran 1977, Sampling
    Techniques, 3rd ed., section 6.3, without the finite-population correction):
    se = sqrt(n / (n - 1) * sum((y_i - R x_i)^2)) / sum(x). nan with fewer than two units or no denominator."""
    if n is None or n < 2 or not denominator_sum or np.isnan(denominator_sum) or np.isnan(residual_sum_of_squares):
        return float("nan")
    return float(np.sqrt(n / (n - 1) * residual_sum_of_squares) / denominator_sum)


def newcombe_difference(x1, n1, x2, n2, z: float = Z_95):
    """Difference of two independent proportions x1/n1 - x2/n2 with Newcombe's hybrid score interval (method 10
    of Newcombe 1998, Statistics in Medicine 17:873-890), built from each proportion's Wilson interval:
    [d - sqrt((p1 - l1)^2 + (u2 - p2)^2), d + sqrt((u1 - p1)^2 + (p2 - l2)^2)]. Arrays broadcast; a group with
    no one gives nan."""
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    l1, u1 = wilson_interval(x1, n1, z)
    l2, u2 = wilson_interval(x2, n2, z)
    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = np.where(n1 > 0, x1 / np.where(n1 > 0, n1, 1), np.nan)
        p2 = np.where(n2 > 0, x2 / np.where(n2 > 0, n2, 1), np.nan)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, low, high
