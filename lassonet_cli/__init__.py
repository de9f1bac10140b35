"""lassonet: nonlinear feature selection with LassoNet (Lemhadri et al., JMLR 2021)."""

__version__ = "0.1.0"
__all__ = ["LassoNetSelector", "__version__"]


def __getattr__(name: str):
    # imported lazily so that `lassonet --help` does not pay for torch (nor scikit-learn)
    if name == "LassoNetSelector":
        from .sklearn_api import LassoNetSelector

        return LassoNetSelector
    raise AttributeError(name)
