"""The numerical core of ``regime_var``: a regime-switching VAR(p) on normal scores, in NumPy.

Kept apart from the synthesizer class so each piece is small enough to read: fitting the lags
(``pick_lags``, ``fit_var``), the regime chain (``fit_transitions``) and one step of it while
sampling (``next_regime``). Everything here is closed form or a deterministic L-BFGS on fixed data,
so the same rows give the same model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

LAG_CHOICES = (1, 2, 3, 4)
VALIDATION_SHARE = 0.2
RIDGE = 1e-4
"""Ridge on the lag coefficients, times the number of rows (scores have unit scale)."""
MAX_RADIUS = 0.9995
"""Largest modulus allowed for the companion matrix's eigenvalues: below 1, so runs stay bounded."""
MIN_OWN_COV_ROWS = 200
MIN_SOFTMAX_ROWS = 50
MIN_EXITS = 3
SOFTMAX_L2 = 0.01
"""L2 on the softmax weights over the summed log-loss: weak, so a sharp threshold (a pump that
stops at a level) can be learnt from a handful of exits."""
NEWTON_STEPS = 30
MAX_STAY_ROWS = 4_000
"""Rows that stay in their regime are thinned to at most this many (weighted back) for the
softmax: they say little each, and the exits are all kept."""
MAX_FEATURES = 3
JITTER = 1e-6
STATE_FLOOR = 1e-6
"""Smallest eigenvalue of a state innovation covariance, relative to the mean residual variance."""


def position_in_segment(starts: np.ndarray) -> np.ndarray:
    """Each row's distance from the first row of its contiguous segment."""
    n = len(starts)
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - first


def _segment_lengths(starts: np.ndarray) -> np.ndarray:
    ids = np.cumsum(starts) - 1
    return np.bincount(ids)[ids]


def switch_pairs(regimes: np.ndarray, position: np.ndarray) -> list[tuple[int, int]]:
    """The (from, to) regime changes seen inside segments, in a fixed order."""
    rows = np.flatnonzero(position >= 1)
    moved = rows[regimes[rows] != regimes[rows - 1]]
    pairs = {(int(regimes[t - 1]), int(regimes[t])) for t in moved.tolist()}
    return sorted(pairs)


def _design(scores: np.ndarray, regimes: np.ndarray, count: int, rows: np.ndarray, lags: int,
            pairs: list[tuple[int, int]]) -> np.ndarray:
    """Regime dummies, one dummy per regime change (the row where a regime is entered from another:
    the jump a spoofed reading or a starting pump makes), then the scores at lags 1..``lags``
    (most recent first), for ``rows``."""
    dummies = np.zeros((len(rows), count + len(pairs)))
    dummies[np.arange(len(rows)), regimes[rows]] = 1.0
    where = {pair: count + i for i, pair in enumerate(pairs)}
    previous, current = regimes[rows - 1], regimes[rows]
    for i in np.flatnonzero(previous != current).tolist():
        column = where.get((int(previous[i]), int(current[i])))
        if column is not None:
            dummies[i, column] = 1.0
    lagged = [scores[rows - i] for i in range(1, lags + 1)]
    return np.hstack([dummies, *lagged])


def _solve(x: np.ndarray, y: np.ndarray, fixed: int, noise: np.ndarray | None = None) -> np.ndarray:
    """Ridge least squares; the first ``fixed`` columns (dummies) are barely penalised. With the
    readings' white-noise variances ``noise`` (per score column), the errors-in-variables
    correction: each lagged column's sum of squares counts ``rows * noise`` of noise that its
    state does not have, so it is taken off the Gram matrix's diagonal (halved until the matrix
    stays positive definite); least squares on noisy lags would shrink them towards 0."""
    gram = x.T @ x
    penalty = np.full(gram.shape[0], RIDGE * max(len(x), 1))
    penalty[:fixed] = 1e-8 * max(len(x), 1)
    if noise is not None and np.any(noise > 0):
        lags = (gram.shape[0] - fixed) // len(noise)
        correction = np.concatenate([np.zeros(fixed), np.tile(noise, lags)]) * len(x)
        for _ in range(12):
            try:
                np.linalg.cholesky(gram + np.diag(penalty - correction))
                penalty = penalty - correction
                break
            except np.linalg.LinAlgError:
                correction = correction / 2
    return np.asarray(np.linalg.solve(gram + np.diag(penalty), x.T @ y))


def _chol(cov: np.ndarray) -> np.ndarray:
    d = cov.shape[0]
    return np.linalg.cholesky((cov + cov.T) / 2 + JITTER * np.eye(d))


def pick_lags(scores: np.ndarray, regimes: np.ndarray, count: int, position: np.ndarray,
              starts: np.ndarray) -> tuple[int, list[dict[str, float]]]:
    """The lag order with the best held-out Gaussian log-likelihood (the last ``VALIDATION_SHARE``
    of every segment held out), and each candidate's held-out negative log-likelihood per row."""
    d = scores.shape[1]
    if d == 0:
        return 1, []
    held = position >= (1 - VALIDATION_SHARE) * _segment_lengths(starts)
    pairs = switch_pairs(regimes, position)
    fixed = count + len(pairs)
    curve: list[dict[str, float]] = []
    best, best_nll = 1, np.inf
    for lags in LAG_CHOICES:
        train = np.flatnonzero((position >= lags) & ~held)
        test = np.flatnonzero((position >= lags) & held)
        if len(train) < 2 * (fixed + d * lags) or len(test) < 10:
            break
        x, y = _design(scores, regimes, count, train, lags, pairs), scores[train]
        coef = _solve(x, y, fixed)
        residuals = y - x @ coef
        cov = residuals.T @ residuals / max(len(train) - x.shape[1], 1) + JITTER * np.eye(d)
        _, logdet = np.linalg.slogdet(cov)
        errors = scores[test] - _design(scores, regimes, count, test, lags, pairs) @ coef
        quad = np.einsum("ij,ij->i", errors @ np.linalg.inv(cov), errors)
        nll = float(0.5 * (logdet + d * np.log(2 * np.pi) + quad.mean()))
        curve.append({"lags": lags, "heldout_nll": round(nll, 4)})
        if nll < best_nll:
            best, best_nll = lags, nll
    return best, curve


def _companion_radius(coefficients: np.ndarray, d: int, lags: int) -> float:
    top = coefficients.T  # d x (d * lags)
    companion = np.zeros((d * lags, d * lags))
    companion[:d] = top
    if lags > 1:
        companion[d:, :-d] = np.eye(d * (lags - 1))
    return float(np.max(np.abs(np.linalg.eigvals(companion))))


def fit_var(scores: np.ndarray, regimes: np.ndarray, count: int, position: np.ndarray, lags: int,
            noise: np.ndarray | None = None) -> dict[str, Any]:
    """Intercept per regime, lag matrices (``A`` as d x d*lags, lag 1 first), residual Cholesky
    factor per regime (pooled for regimes under ``MIN_OWN_COV_ROWS`` rows) and per-regime means.
    With ``noise`` (white-noise variance per column) the lags are fitted for the state under the
    readings (``_solve``) and the residual covariances lose what the noise put in them
    (``_state_cov``), so a run of the model is the smooth state, the noise added on output."""
    n, d = scores.shape
    means = np.zeros((count, d))
    overall = scores.mean(axis=0) if n else np.zeros(d)
    for r in range(count):
        members = regimes == r
        means[r] = scores[members].mean(axis=0) if members.any() else overall
    if d == 0:
        return {"intercepts": np.zeros((count, 0)), "coefficients": np.zeros((0, 0)), "jumps": [],
                "chol": [np.zeros((0, 0))] * count, "means": means, "shrunk": 1.0}
    rows = np.flatnonzero(position >= lags)
    pairs = switch_pairs(regimes, position)
    fixed = count + len(pairs)
    x, y = _design(scores, regimes, count, rows, lags, pairs), scores[rows]
    coef = _solve(x, y, fixed, noise)
    intercepts, jumps, lag_part = coef[:count].copy(), coef[count:fixed], coef[fixed:]
    seen = np.bincount(regimes[rows], minlength=count)
    if (seen > 0).any():
        pooled_intercept = np.average(intercepts[seen > 0], axis=0, weights=seen[seen > 0])
        intercepts[seen == 0] = pooled_intercept
    radius = _companion_radius(lag_part, d, lags)
    shrink = 1.0
    if radius > MAX_RADIUS:
        shrink = MAX_RADIUS / radius
        for i in range(lags):
            lag_part[i * d:(i + 1) * d] *= shrink ** (i + 1)
    residuals = y - x[:, :fixed] @ np.vstack([intercepts, jumps]) - x[:, fixed:] @ lag_part
    steady = regimes[rows] == regimes[rows - 1]  # a change's row is its jump's, not noise
    pooled = residuals[steady].T @ residuals[steady] / max(int(steady.sum()) - x.shape[1], 1)
    measured = _measured_cov(lag_part, noise, d, lags)
    pooled_chol = _chol(_state_cov(pooled, measured))
    chol = []
    for r in range(count):
        mine = residuals[(regimes[rows] == r) & steady]
        if len(mine) >= max(MIN_OWN_COV_ROWS, 5 * d):
            chol.append(_chol(_state_cov(mine.T @ mine / len(mine), measured)))
        else:
            chol.append(pooled_chol)
    return {"intercepts": intercepts, "coefficients": lag_part.T.copy(), "chol": chol, "means": means,
            "jumps": [[a, b, jumps[i].tolist()] for i, (a, b) in enumerate(pairs)], "shrunk": round(shrink, 6)}


def _measured_cov(lag_part: np.ndarray, noise: np.ndarray | None, d: int, lags: int) -> np.ndarray | None:
    """What white reading noise ``v`` adds to a residual ``y_t - c - sum A_i y_t-i``:
    ``cov(v_t - sum A_i v_t-i) = R + sum A_i R A_i'`` (``R`` diagonal)."""
    if noise is None or not np.any(noise > 0):
        return None
    out = np.diag(noise).astype(float)
    for i in range(lags):
        a = lag_part[i * d:(i + 1) * d].T  # d x d, rows: the predicted column
        out = out + (a * noise[None, :]) @ a.T
    return out


def _state_cov(residual_cov: np.ndarray, measured: np.ndarray | None) -> np.ndarray:
    """The state's innovation covariance: the residuals' less the noise's share, its eigenvalues
    kept at or above ``STATE_FLOOR`` of the residual variance (a column whose reading is all noise
    gets a near-constant state)."""
    if measured is None:
        return residual_cov
    values, vectors = np.linalg.eigh((residual_cov - measured + (residual_cov - measured).T) / 2)
    floor = STATE_FLOOR * max(float(np.trace(residual_cov)) / len(residual_cov), 1e-12)
    return np.asarray((vectors * np.maximum(values, floor)) @ vectors.T)


def _objective(x: np.ndarray, onehot: np.ndarray, weight: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted log-likelihood of a softmax whose class 0 has logit 0, and the class probabilities."""
    full = np.hstack([np.zeros((len(x), 1)), x @ w.T])
    logp = full - special.logsumexp(full, axis=1, keepdims=True)
    return float((weight[:, None] * onehot * logp).sum()), np.exp(logp)


def _softmax_fit(features: np.ndarray, target: np.ndarray, classes: int,
                 weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Multinomial logistic regression (class 0 the reference) by damped Newton steps with an L2
    penalty on the slopes; returns (weights, bias) for every class and the log-likelihood. Newton on
    a handful of parameters converges in a few steps where a general optimiser dawdles."""
    n, f = features.shape
    weight = np.ones(n) if weight is None else weight
    x = np.hstack([np.ones((n, 1)), features])
    onehot = np.zeros((n, classes))
    onehot[np.arange(n), target] = 1.0
    m, width = classes - 1, f + 1
    totals = (weight[:, None] * onehot).sum(axis=0)
    w = np.zeros((m, width))
    w[:, 0] = np.log(np.maximum(totals[1:], 1e-9) / max(totals[0], 1e-9))
    reg = np.tile(np.r_[1e-6, np.full(f, SOFTMAX_L2)], m)

    def penalised(params: np.ndarray) -> tuple[float, np.ndarray]:
        ll, probs = _objective(x, onehot, weight, params)
        return ll - 0.5 * float((reg * params.ravel() ** 2).sum()), probs

    value, probs = penalised(w)
    for _ in range(NEWTON_STEPS):
        p = probs[:, 1:]
        grad = ((onehot[:, 1:] - p) * weight[:, None]).T @ x
        hessian = np.zeros((m * width, m * width))
        for a in range(m):
            for b in range(m):
                block = weight * p[:, a] * ((a == b) - p[:, b])
                hessian[a * width:(a + 1) * width, b * width:(b + 1) * width] = (x * block[:, None]).T @ x
        step = np.linalg.solve(hessian + np.diag(reg), grad.ravel() - reg * w.ravel()).reshape(m, width)
        size = 1.0
        while size > 1e-4:
            trial = w + size * step
            trial_value, trial_probs = penalised(trial)
            if trial_value >= value:
                break
            size /= 2
        else:
            break
        gain = trial_value - value
        w, value, probs = trial, trial_value, trial_probs
        if gain < 1e-7 * (1.0 + abs(value)):
            break
    full = np.vstack([np.zeros((1, width)), w])
    return full[:, 1:].copy(), full[:, 0].copy(), _objective(x, onehot, weight, w)[0]


def _select_features(scores: np.ndarray, target: np.ndarray, classes: int, weight: np.ndarray) -> list[int]:
    """Forward selection of at most ``MAX_FEATURES`` score columns by BIC: a regime change driven
    by a level crossing a threshold needs that level, and a handful of changes cannot support more
    (with every column the softmax would separate them by chance and fire anywhere)."""
    n = float(weight.sum())
    penalty = 0.5 * (classes - 1) * np.log(max(n, 2.0))
    counts = np.bincount(target, weights=weight, minlength=classes)
    shares = counts[counts > 0] / n
    current = float((counts[counts > 0] * np.log(shares)).sum())
    chosen: list[int] = []
    for _ in range(MAX_FEATURES):
        best, best_ll = -1, current
        for k in range(scores.shape[1]):
            if k in chosen:
                continue
            ll = _softmax_fit(scores[:, [*chosen, k]], target, classes, weight)[2]
            if ll > best_ll:
                best, best_ll = k, ll
        if best < 0 or best_ll - current <= penalty:
            break
        chosen.append(best)
        current = best_ll
    return chosen


def fit_transitions(scores: np.ndarray, regimes: np.ndarray, count: int, starts: np.ndarray) -> list[dict[str, Any]]:
    """Per regime, where it goes next. Destinations reached at least ``MIN_EXITS`` times (and
    staying) share a softmax on a few previous scores chosen by BIC; rarer ones (an attack that
    began once) keep their observed share, whatever the scores. A regime never left in training
    (seen only at the end of the data) leaves at the rate 1 / its rows, to the commonest regime."""
    n = len(regimes)
    follows = np.flatnonzero(~starts[1:]) + 1 if n > 1 else np.zeros(0, dtype=np.int64)
    previous, following = regimes[follows - 1], regimes[follows]
    commonest = int(np.argmax(np.bincount(regimes, minlength=count)))
    out: list[dict[str, Any]] = []
    for r in range(count):
        mine = previous == r
        nxt = following[mine]
        rows = int(mine.sum())
        exits = int((nxt != r).sum())
        if exits == 0:
            other = commonest if commonest != r else next((k for k in range(count) if k != r), r)
            leave = 1.0 / (rows + 1) if other != r else 0.0
            out.append({"kind": "counts", "to": [r, other], "probs": [1.0 - leave, leave]})
            continue
        destinations, counted = np.unique(nxt, return_counts=True)
        frequent = (destinations == r) | (counted >= MIN_EXITS)
        if frequent.sum() < 2 or rows < MIN_SOFTMAX_ROWS or scores.shape[1] == 0:
            out.append({"kind": "counts", "to": destinations.tolist(),
                        "probs": (counted / counted.sum()).tolist()})
            continue
        keep = np.isin(nxt, destinations[frequent])
        stay = np.flatnonzero(keep & (nxt == r))
        stride = max(1, -(-len(stay) // MAX_STAY_ROWS))
        thinned = np.zeros(len(nxt), dtype=bool)
        thinned[stay[::stride]] = True
        used = (keep & (nxt != r)) | thinned
        weight = np.where(nxt[used] == r, len(stay) / max(int(thinned.sum()), 1), 1.0)
        target = np.searchsorted(destinations[frequent], nxt[used])
        features = scores[follows[mine] - 1][used]
        chosen = _select_features(features, target, int(frequent.sum()), weight)
        weights, bias, _ = _softmax_fit(features[:, chosen], target, int(frequent.sum()), weight)
        out.append({"kind": "softmax", "to": destinations[frequent].tolist(), "features": chosen,
                    "weights": weights.tolist(), "bias": bias.tolist(),
                    "rare_to": destinations[~frequent].tolist(), "rare_probs": (counted[~frequent] / rows).tolist()})
    return out


def next_regime(spec: dict[str, Any], z: np.ndarray, draw: float, current: int) -> int:
    """The regime after ``current`` given the previous scores ``z`` and a uniform ``draw``: a
    rare destination when the draw falls in its share, else the softmax's (or the counts') pick."""
    to = spec["to"]
    if spec["kind"] == "counts":
        cumulative = spec["cumulative"]
    else:
        rare = spec["rare_cumulative"]
        if len(rare) and draw < rare[-1]:
            return int(spec["rare_to"][int(np.searchsorted(rare, draw, side="right"))])
        if len(rare):
            draw = (draw - rare[-1]) / (1.0 - rare[-1])
        logits = spec["bias"] + spec["weights"] @ z[spec["features"]]
        weights = np.exp(logits - logits.max())
        cumulative = np.cumsum(weights) / weights.sum()
    pick = int(np.searchsorted(cumulative, draw, side="right"))
    return int(to[min(pick, len(to) - 1)]) if len(to) else current
