"""Write the bundled sample tables (fixed seed; run from the project root).

toy_regression.csv  The toy regression of the LassoNet examples: 10 standard-normal features
                    x0..x9 and y = 2*x3 - x3**2 + x1 + 0.5*x2 + 2*x4*x5 + noise, 2000 rows.
                    Only x1..x5 matter.
breast_cancer.csv   Wisconsin diagnostic breast cancer (569 rows, 30 features) with the text
                    label `diagnosis` (malignant / benign), from ../shared/data when present.
"""

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"


def toy_regression(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 10))
    y = 2 * X[:, 3] - X[:, 3] ** 2 + X[:, 1] + 0.5 * X[:, 2] + 2 * X[:, 4] * X[:, 5]
    y = y + 0.1 * rng.standard_normal(n)
    df = pd.DataFrame(X.round(6), columns=[f"x{i}" for i in range(10)])
    df["y"] = y.round(6)
    return df


def breast_cancer() -> pd.DataFrame:
    df = pd.read_parquet(SHARED / "breast_cancer.parquet")
    # scikit-learn's coding: 0 = malignant, 1 = benign
    df["diagnosis"] = np.where(df.pop("target") == 0, "malignant", "benign")
    return df


if __name__ == "__main__":
    toy_regression().to_csv(HERE / "toy_regression.csv", index=False)
    if SHARED.exists():
        breast_cancer().to_csv(HERE / "breast_cancer.csv", index=False)
