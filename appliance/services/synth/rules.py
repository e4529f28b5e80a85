"""Rules between columns: found in the training rows (or declared by the caller), enforced on every
sampled chunk by a deterministic repair step, and counted in the report ("rules held: n/n").

Why our own step and not SDV's constraints: SDV 2.0 replaced 1.x's ``add_constraints`` with CAG
patterns (``FixedCombinations``, ``Inequality``, ``Range``), which have no conditional null ("if
``attack = 0`` then ``attack_id`` is null"), the rule plant labels break most; one mechanism for all
rules keeps them in the model's metadata (JSON, editable) and independent of the engine. Repair,
rather than rejection sampling, keeps the row count and the seeded stream (same seed, same rows).

Rule shapes (``type``):

- ``null_when``: ``{"column": c, "when": {w: v}}``: c is null in rows where w equals v (v may be null).
- ``not_null_when``: ``{"column": c, "when": {w: v}, "fill": x}``: c has a value there (x fills it).
- ``value_when``: ``{"column": c, "value": x, "when": {w: v}}``: c equals x there.
- ``range``: ``{"column": c, "min": a, "max": b}`` (numbers; either bound may be left out).
- ``inequality``: ``{"low": a, "high": b}``: a <= b wherever both have a value (numbers or dates).
- ``fixed_combinations``: ``{"columns": [a, b, ...], "combinations": [[...], ...]}``: the values of
  these columns together are one of the listed combinations (learned from the data when left out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.services.synth.interface import SynthesisError

if TYPE_CHECKING:
    import pandas as pd

RULE_TYPES = ("null_when", "not_null_when", "value_when", "range", "inequality", "fixed_combinations")
MAX_LEVELS = 20
MIN_SUPPORT = 10
MIN_SUPPORT_SHARE = 0.02
MAX_GROUP = 6
MAX_COMBINATIONS = 50
MAX_RULES = 60
NULL_KEY = "\0null"
SEPARATOR = "\x1f"
DETECT_ROWS = 20_000


def _plain(value: Any) -> Any:
    """A cell as JSON: numpy scalars as Python numbers, missing as None."""
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _equals(series: pd.Series, value: Any) -> np.ndarray:
    """Rows where ``series`` equals ``value`` (None: missing); numbers compare as numbers."""
    import pandas as pd

    if value is None:
        return series.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(series) and isinstance(value, int | float) and not isinstance(value, bool):
        return (pd.to_numeric(series, errors="coerce") == value).fillna(False).to_numpy(dtype=bool)
    if pd.api.types.is_bool_dtype(series):
        return (series == bool(value)).fillna(False).to_numpy(dtype=bool)
    return (series.astype("string") == str(value)).fillna(False).to_numpy(dtype=bool)


def _when(frame: pd.DataFrame, when: dict[str, Any]) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for name, value in when.items():
        mask &= _equals(frame[name], value)
    return mask


def _key(row: tuple[Any, ...]) -> str:
    return SEPARATOR.join(NULL_KEY if _plain(v) is None else str(_plain(v)) for v in row)


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Each row's values in ``columns`` as one string, the way ``_key`` writes a combination."""
    parts = []
    for name in columns:
        column = frame[name]
        parts.append(column.astype(object).map(str).where(column.notna(), NULL_KEY))
    keys: pd.Series = parts[0].str.cat(parts[1:], sep=SEPARATOR) if len(parts) > 1 else parts[0]
    return keys


def violations(frame: pd.DataFrame, rule: dict[str, Any]) -> np.ndarray:
    """The rows of ``frame`` that break ``rule``."""
    import pandas as pd

    kind = rule["type"]
    if kind in ("null_when", "not_null_when", "value_when"):
        scope = _when(frame, rule["when"])
        column = frame[rule["column"]]
        if kind == "null_when":
            return scope & column.notna().to_numpy()
        if kind == "not_null_when":
            return scope & column.isna().to_numpy()
        return scope & ~_equals(column, rule["value"])
    if kind == "range":
        values = pd.to_numeric(frame[rule["column"]], errors="coerce").to_numpy(dtype=float)
        bad = np.zeros(len(frame), dtype=bool)
        with np.errstate(invalid="ignore"):
            if rule.get("min") is not None:
                bad |= values < float(rule["min"])
            if rule.get("max") is not None:
                bad |= values > float(rule["max"])
        return bad
    if kind == "inequality":
        low, high = frame[rule["low"]], frame[rule["high"]]
        both = (low.notna() & high.notna()).to_numpy()
        return both & (low > high).fillna(False).to_numpy(dtype=bool)
    allowed = {_key(tuple(c)) for c in rule["combinations"]}
    return ~_row_keys(frame, list(rule["columns"])).isin(allowed).to_numpy(dtype=bool)


def _repair_combinations(frame: pd.DataFrame, rule: dict[str, Any], bad: np.ndarray, fixed: set[str]) -> None:
    """Each bad row takes the allowed combination that agrees with it on most columns (conditioned
    columns must agree; the first column counts double; ties go to the first listed, the commonest)."""
    columns = rule["columns"]
    combos = rule["combinations"]
    weights = np.array([100.0 if c in fixed else (2.0 if i == 0 else 1.0) for i, c in enumerate(columns)])
    table = np.array([_key(tuple(c)).split(SEPARATOR) for c in combos], dtype=object)
    keys = _row_keys(frame.loc[bad], columns)
    if not len(keys):
        return
    rows = np.array([k.split(SEPARATOR) for k in keys], dtype=object)
    scores = np.zeros((len(rows), len(combos)))
    for j in range(len(columns)):
        scores += weights[j] * (rows[:, j][:, None] == table[:, j][None, :])
    chosen = np.argmax(scores, axis=1)
    index = frame.index[bad]
    for j, name in enumerate(columns):
        if name in fixed:
            continue
        values = [combos[k][j] for k in chosen]
        _assign(frame, index, name, values)


def _assign(frame: pd.DataFrame, index: Any, name: str, values: Any) -> None:
    """Set ``frame.loc[index, name]``, widening the column's dtype only when the values need it
    (a null into integers makes them objects; fractions into integers make them floats)."""
    import pandas as pd

    column = frame[name]
    items = values if isinstance(values, list) else [values] * len(index)
    if any(v is None for v in items):
        if not (pd.api.types.is_float_dtype(column) or pd.api.types.is_object_dtype(column)):
            frame[name] = column.astype(object)
        frame.loc[index, name] = items if isinstance(values, list) else None
        return
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        numbers = pd.to_numeric(pd.Series(items), errors="coerce").to_numpy(dtype=float)
        if pd.api.types.is_integer_dtype(column) and np.all(numbers == np.round(numbers)):
            frame.loc[index, name] = numbers.astype(column.dtype)
            return
        if pd.api.types.is_integer_dtype(column):
            frame[name] = column.astype(float)
        frame.loc[index, name] = numbers
        return
    if pd.api.types.is_bool_dtype(column):
        frame[name] = column.astype(object)
    frame.loc[index, name] = items


def _flip_condition(frame: pd.DataFrame, rule: dict[str, Any], bad: np.ndarray, fixed: set[str]) -> bool:
    """Repair a conditional rule on its condition instead of its column (the column is fixed, or
    tied to a fixed one): the condition's column takes its commonest other value (``otherwise``)."""
    when = rule.get("when") or {}
    if len(when) != 1 or "otherwise" not in rule:
        return False
    (column,) = when
    if column in fixed:
        return False
    _assign(frame, frame.index[bad], column, [rule["otherwise"]] * int(bad.sum()))
    return True


def repair(frame: pd.DataFrame, rules: list[dict[str, Any]], conditions: dict[str, Any] | None = None) -> pd.DataFrame:
    """``frame`` with every rule's violations repaired, in a fixed order (combinations, conditional
    values, ranges, inequalities). Columns in ``conditions`` (sampling conditions, a per-class
    model's class column) are never changed; a conditional rule on a column fixed or tied to a fixed
    one by a combination is repaired on its condition instead."""
    if not rules or not len(frame):
        return frame
    frame = frame.reset_index(drop=True).copy()
    fixed = set(conditions or {})
    protected = set(fixed)
    for rule in rules:
        if rule["type"] == "fixed_combinations" and fixed & set(rule["columns"]):
            protected |= set(rule["columns"])
    order = {"fixed_combinations": 0, "null_when": 1, "not_null_when": 1, "value_when": 1, "range": 2, "inequality": 3}
    for rule in sorted(rules, key=lambda r: order[r["type"]]):
        bad = violations(frame, rule)
        if not bad.any():
            continue
        kind = rule["type"]
        if kind == "fixed_combinations":
            _repair_combinations(frame, rule, bad, fixed)
        elif (rule.get("column") in protected and _flip_condition(frame, rule, bad, fixed)) or (
            rule.get("column") in fixed
        ):
            continue
        elif kind == "null_when":
            _assign(frame, frame.index[bad], rule["column"], None)
        elif kind == "not_null_when":
            _assign(frame, frame.index[bad], rule["column"], [rule.get("fill")] * int(bad.sum()))
        elif kind == "value_when":
            _assign(frame, frame.index[bad], rule["column"], [rule["value"]] * int(bad.sum()))
        elif kind == "range":
            import pandas as pd

            values = pd.to_numeric(frame[rule["column"]], errors="coerce")
            frame[rule["column"]] = values.clip(lower=rule.get("min"), upper=rule.get("max")).astype(values.dtype)
        elif kind == "inequality" and not ({rule["low"], rule["high"]} & fixed):
            low, high = frame.loc[bad, rule["low"]].to_numpy(), frame.loc[bad, rule["high"]].to_numpy()
            frame.loc[bad, rule["low"]], frame.loc[bad, rule["high"]] = high, low
    return frame


def describe(rule: dict[str, Any]) -> str:
    """The rule in words, for the report."""
    kind = rule["type"]
    when = " and ".join(f"{k} = {'null' if v is None else v}" for k, v in (rule.get("when") or {}).items())
    if kind == "null_when":
        return f"{rule['column']} is null when {when}"
    if kind == "not_null_when":
        return f"{rule['column']} has a value when {when}"
    if kind == "value_when":
        return f"{rule['column']} = {rule['value']} when {when}"
    if kind == "range":
        return f"{rule['column']} within [{rule.get('min')}, {rule.get('max')}]"
    if kind == "inequality":
        return f"{rule['low']} <= {rule['high']}"
    return f"{', '.join(rule['columns'])} take one of {len(rule['combinations'])} combinations seen in the data"


def check(frame: pd.DataFrame, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"held": n, "total": m, "summary": "rules held: n/m", "rules": [...]}`` on ``frame``: each
    rule in words with its violating rows."""
    out = []
    for rule in rules:
        try:
            bad = int(violations(frame, rule).sum())
        except KeyError:
            continue
        out.append({"type": rule["type"], "rule": describe(rule), "violations": bad})
    held = sum(1 for r in out if r["violations"] == 0)
    summary = f"rules held: {held}/{len(out)}"
    return {"held": held, "total": len(out), "summary": summary, "rows_checked": len(frame), "rules": out}


# ----- detection -----


def _levels(frame: pd.DataFrame, sdtypes: dict[str, str]) -> list[str]:
    """Label-like columns: few values (2..MAX_LEVELS, a missing value counting as one), text or
    whole numbers; not dates, and not measurements that happen to take few values."""
    import pandas as pd

    out = []
    for name in frame.columns:
        column = frame[name]
        if sdtypes.get(name) == "datetime" or not 2 <= column.nunique(dropna=False) <= MAX_LEVELS:
            continue
        if pd.api.types.is_float_dtype(column):
            values = column.dropna().to_numpy(dtype=float)
            if not np.all(values == np.round(values)):
                continue
        out.append(name)
    return out


def _codes(column: pd.Series) -> np.ndarray:
    """Integer codes of a column's values, a missing value counting as one more value."""
    import pandas as pd

    codes, _ = pd.factorize(column, use_na_sentinel=False)
    return np.asarray(codes, dtype=np.int64)


def _functional(codes: dict[str, np.ndarray], a: str, b: str) -> bool:
    """Each value of ``a`` goes with one value of ``b`` only."""
    width = int(codes[b].max()) + 1
    pairs = np.unique(codes[a] * width + codes[b])
    return len(pairs) == len(np.unique(codes[a]))


def _groups(frame: pd.DataFrame, levels: list[str]) -> list[list[str]]:
    """Columns tied by a functional dependency (one determines the other), joined into groups."""
    parent = {name: name for name in levels}
    codes = {name: _codes(frame[name]) for name in levels}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for i, a in enumerate(levels):
        for b in levels[i + 1:]:
            if _functional(codes, a, b) or _functional(codes, b, a):
                parent[root(b)] = root(a)
    groups: dict[str, list[str]] = {}
    for name in levels:
        groups.setdefault(root(name), []).append(name)
    return [g for g in groups.values() if 2 <= len(g) <= MAX_GROUP]


def _combinations(frame: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    """The combinations of ``columns`` seen in ``frame``, commonest first."""
    keys = _row_keys(frame, columns)
    first = keys.drop_duplicates()
    counts = keys.value_counts()
    order = sorted(first.index, key=lambda i: (-int(counts[first[i]]), i))
    return [[_plain(frame.at[i, c]) for c in columns] for i in order]


def _conditionals(frame: pd.DataFrame, levels: list[str], grouped: dict[str, int]) -> list[dict[str, Any]]:
    """Per value of each label-like column (with ``support`` rows or more), the columns that are all
    null, never null (while null elsewhere) or one value there; counted on integer codes."""
    import pandas as pd

    out: list[dict[str, Any]] = []
    rows = len(frame)
    support = max(MIN_SUPPORT, int(MIN_SUPPORT_SHARE * rows))
    codes = {c: _codes(frame[c]) for c in frame.columns}
    varying = [c for c in frame.columns if codes[c].max() > 0]
    nulls = {c: frame[c].isna().to_numpy() for c in varying}
    for w in levels:
        cw = codes[w]
        kinds = int(cw.max()) + 1
        sizes = np.bincount(cw, minlength=kinds)
        firsts = np.unique(cw, return_index=True)[1]
        groups = [g for g in range(kinds) if support <= sizes[g] < rows]
        groups.sort(key=lambda g: str(_plain(frame[w].iloc[firsts[g]])))
        for g in groups:
            value = _plain(frame[w].iloc[firsts[g]])
            others = sizes.copy()
            others[g] = -1
            otherwise = _plain(frame[w].iloc[firsts[int(np.argmax(others))]])
            when = {w: value}
            inside = cw == g
            for c in varying:
                if c == w or (c in grouped and grouped.get(c) == grouped.get(w)):
                    continue
                null_count = int(nulls[c][inside].sum())
                if null_count == sizes[g]:
                    out.append({"type": "null_when", "column": c, "when": when, "otherwise": otherwise})
                    continue
                present = codes[c][inside]
                if null_count == 0 and nulls[c].any():
                    common = int(np.argmax(np.bincount(present)))
                    fill = _plain(frame[c].iloc[int(np.argmax(codes[c] == common))])
                    rule = {"type": "not_null_when", "column": c, "when": when, "fill": fill}
                    out.append({**rule, "otherwise": otherwise})
                elif np.all(present == present[0]) and not pd.api.types.is_datetime64_any_dtype(frame[c]):
                    constant = _plain(frame[c].to_numpy()[inside][0])
                    rule = {"type": "value_when", "column": c, "value": constant, "when": when}
                    out.append({**rule, "otherwise": otherwise})
    return out


def _inequalities(frame: pd.DataFrame, sdtypes: dict[str, str]) -> list[dict[str, Any]]:
    import pandas as pd

    names = [
        c for c in frame.columns
        if sdtypes.get(c) in ("numerical", "datetime") and frame[c].nunique() > MAX_LEVELS
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if sdtypes.get(a) != sdtypes.get(b):
                continue
            both = frame[[a, b]].dropna()
            if len(both) < MIN_SUPPORT:
                continue
            low, high = both[a], both[b]
            overlap = low.max() > high.min() and high.max() > low.min()
            if not overlap or (low == high).all():
                continue
            if (low <= high).all():
                out.append({"type": "inequality", "low": a, "high": b})
            elif (high <= low).all():
                out.append({"type": "inequality", "low": b, "high": a})
    return out


def _ranges(frame: pd.DataFrame, sdtypes: dict[str, str]) -> list[dict[str, Any]]:
    import pandas as pd

    out = []
    for name in frame.columns:
        column = frame[name]
        if sdtypes.get(name) != "numerical" or pd.api.types.is_bool_dtype(column):
            continue
        if not pd.api.types.is_numeric_dtype(column) or column.nunique() <= 1:
            continue
        out.append({"type": "range", "column": name, "min": _plain(column.min()), "max": _plain(column.max())})
    return out


def detect(frame: pd.DataFrame, sdtypes: dict[str, str]) -> list[dict[str, Any]]:
    """The rules every training row obeys: fixed combinations among few-valued columns, conditional
    nulls and values (support of at least ``MIN_SUPPORT`` rows), inequalities between columns whose
    ranges overlap (a pair with disjoint ranges is already implied by the ranges), and ranges.

    On a large table the candidates are found on a seeded sample of ``DETECT_ROWS`` rows and kept
    only if every row of the table obeys them (ranges are taken from the whole table)."""
    sample = frame
    if len(frame) > DETECT_ROWS:
        sample = frame.sample(DETECT_ROWS, random_state=0).reset_index(drop=True)
    levels = _levels(sample, sdtypes)
    out: list[dict[str, Any]] = []
    grouped: dict[str, int] = {}
    for number, group in enumerate(_groups(sample, levels)):
        combos = _combinations(sample, group)
        product = int(np.prod([sample[c].nunique(dropna=False) for c in group]))
        if len(combos) < product and len(combos) <= MAX_COMBINATIONS:
            out.append({"type": "fixed_combinations", "columns": group, "combinations": combos})
            grouped.update({c: number for c in group})
    out.extend(_conditionals(sample, levels, grouped)[: MAX_RULES])
    out.extend(_inequalities(sample, sdtypes)[: MAX_RULES])
    if sample is not frame:
        out = [rule for rule in out if not violations(frame, rule).any()]
    out.extend(_ranges(frame, sdtypes))
    return out


def _check_one(rule: Any, columns: set[str] | None, where: str) -> dict[str, Any]:
    if not isinstance(rule, dict) or rule.get("type") not in RULE_TYPES:
        raise SynthesisError(where, f"a rule is an object with type one of {', '.join(RULE_TYPES)}")
    kind = rule["type"]
    named: list[Any] = []
    if kind in ("null_when", "not_null_when", "value_when"):
        if not isinstance(rule.get("when"), dict) or not rule["when"]:
            raise SynthesisError(f"{where}.when", 'give {"column": value} the rule applies to')
        named = [rule.get("column"), *rule["when"]]
        if kind == "value_when" and "value" not in rule:
            raise SynthesisError(f"{where}.value", "value_when needs the value the column takes")
    elif kind == "range":
        named = [rule.get("column")]
        if rule.get("min") is None and rule.get("max") is None:
            raise SynthesisError(f"{where}.min", "give min, max or both")
    elif kind == "inequality":
        named = [rule.get("low"), rule.get("high")]
    else:
        if not isinstance(rule.get("columns"), list) or len(rule["columns"]) < 2:
            raise SynthesisError(f"{where}.columns", "give two or more columns")
        named = list(rule["columns"])
    for name in named:
        if not isinstance(name, str) or (columns is not None and name not in columns):
            raise SynthesisError(where, f"unknown column {name!r}")
    return dict(rule)


def validate(raw: Any, columns: set[str] | None = None) -> None:
    """Raise SynthesisError naming the first malformed rule (``rules.<i>...``); with ``columns``,
    also a rule naming a column the data does not have."""
    if raw is None:
        return
    if not isinstance(raw, list):
        raise SynthesisError("rules", "a list of rules")
    for i, item in enumerate(raw):
        _check_one(item, columns, f"rules.{i}")


def declared(raw: Any, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The caller's rules, checked against the columns; fixed combinations without a list learn
    theirs from the data."""
    columns = set(map(str, frame.columns))
    validate(raw, columns)
    out = []
    for item in raw or []:
        rule = dict(item)
        if rule["type"] == "fixed_combinations" and not rule.get("combinations"):
            rule["combinations"] = _combinations(frame, list(rule["columns"]))
        out.append(rule)
    return out


def combine(detected: list[dict[str, Any]], given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Declared rules first, then the detected ones a declared rule does not already cover."""
    import json

    def key(rule: dict[str, Any]) -> str:
        kept = {k: v for k, v in rule.items() if k not in ("fill", "otherwise")}
        return json.dumps(kept, sort_keys=True, default=str)

    seen = {key(r) for r in given}
    out = list(given)
    for rule in detected:
        key_ = key(rule)
        if key_ not in seen:
            out.append(rule)
            seen.add(key_)
    return out
