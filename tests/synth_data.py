"""Small offline data for the synthesis tests (kinds and services): an adult-census-shaped table made in the test.

Income depends on age, education and hours, so models, pair trends and TSTR have something real to
find in 300 rows.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from tests.conftest import auth

EDUCATION = ["HS-grad", "Some-college", "Bachelors", "Masters", "Doctorate"]
WORKCLASS = ["Private", "Self-emp", "Local-gov", "State-gov"]


def adult_frame(rows: int = 300, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, rows)
    education = rng.choice(EDUCATION, rows, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    level = np.array([EDUCATION.index(e) for e in education])
    hours = np.clip(rng.normal(38 + 2 * level, 8, rows), 5, 90).round()
    score = 0.03 * (age - 40) + 0.6 * level + 0.04 * (hours - 40) + rng.normal(0, 0.8, rows)
    return pd.DataFrame(
        {
            "age": age,
            "workclass": rng.choice(WORKCLASS, rows, p=[0.7, 0.1, 0.1, 0.1]),
            "education": education,
            "hours": hours.astype(int),
            "income": np.where(score > 1.6, ">50K", "<=50K"),
        }
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def upload_frame(client: FlaskClient, key: str, frame: pd.DataFrame, name: str = "adult.csv") -> dict[str, Any]:
    response = client.post(
        "/v1/datasets",
        data=csv_bytes(frame),
        content_type="text/csv",
        query_string={"name": name},
        headers=auth(key),
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


@pytest.fixture
def sdv_home(tmp_path: Path) -> Iterator[Path]:
    """SDV in the test process: HOME and XDG under tmp_path, the environment restored after."""
    from appliance.services.synth import offline

    saved = dict(os.environ)
    offline._prepared = None
    home = offline.prepare(tmp_path / "sdv-state")
    yield home
    os.environ.clear()
    os.environ.update(saved)
    offline._prepared = None
