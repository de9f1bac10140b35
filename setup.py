"""Build of the compiled HIER-PROX kernel; everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and the training
loop uses the torch HIER-PROX (``lassonet_cli.prox``): the same operator, equal up to rounding,
only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lassonet_cli._hierprox",
            sources=["lassonet_cli/_hierprox.c"],
            depends=["lassonet_cli/_hierprox_kernel.h"],
            extra_compile_args=["-O3", "-fno-trapping-math"],
            optional=True,
        )
    ]
)
