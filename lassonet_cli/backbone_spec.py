"""A parsed ``--backbone`` value and image shape, without torch.

``lassonet inspect`` and the model file's checks (``modelfile``) read these without importing
torch; the networks they name are built in ``backbones``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from .errors import ConfigError

DEFAULT_KERNEL = 3
# conv2's output is pooled to at most HEAD_GRID x HEAD_GRID cells before the linear head
HEAD_GRID = 4


def head_grid(height: int, width: int) -> tuple[int, int]:
    """The cells conv2's maps are pooled to before the linear head: the first pool halves the
    image (rounding up), and the grid is at most ``HEAD_GRID`` a side."""
    return min(HEAD_GRID, math.ceil(height / 2)), min(HEAD_GRID, math.ceil(width / 2))


@dataclass(frozen=True)
class BackboneSpec:
    """A parsed ``--backbone`` value: ``linear``, ``mlp:H1,H2,...`` or ``conv:C1,C2[:kK]``.

    ``hidden`` holds the hidden sizes (mlp) or the channels of the two conv layers (conv);
    ``kernel`` is the conv layers' kernel size (0 for the others).
    """

    kind: str
    hidden: tuple[int, ...] = ()
    kernel: int = 0

    @classmethod
    def parse(cls, text: str) -> BackboneSpec:
        text = text.strip().lower()
        if text == "linear":
            return cls("linear")
        if text == "mlp":
            return cls("mlp", (100,))
        if text.startswith("mlp:"):
            hidden = _positive_ints(text[4:])
            if hidden:
                return cls("mlp", hidden)
        if text.startswith("conv:"):
            match = re.fullmatch(r"([^:]*)(?::k(\d+))?", text[5:])
            channels = _positive_ints(match.group(1)) if match else ()
            kernel = int(match.group(2)) if match and match.group(2) else DEFAULT_KERNEL
            if len(channels) == 2 and kernel % 2 == 1:
                return cls("conv", channels, kernel)
            raise ConfigError(
                lambda s: f"invalid backbone {text!r}: use 'conv:C1,C2' (the channels of the two "
                "conv layers) with an optional odd kernel size, e.g. "
                f"{s('backbone', 'conv:16,32:k5')}"
            )
        raise ConfigError(
            lambda s: f"invalid backbone {text!r}: use 'linear', 'mlp:H1,H2,...' with positive "
            f"hidden sizes, e.g. {s('backbone', 'mlp:100')}, or 'conv:C1,C2[:kK]'"
        )

    def __str__(self) -> str:
        if self.kind == "linear":
            return "linear"
        if self.kind == "conv":
            return f"conv:{self.hidden[0]},{self.hidden[1]}:k{self.kernel}"
        return "mlp:" + ",".join(str(h) for h in self.hidden)

    @property
    def selects_filters(self) -> bool:
        """True when the selected units are conv1's filters rather than input columns."""
        return self.kind == "conv"

    def build(
        self,
        n_inputs: int,
        n_outputs: int,
        dropout: float = 0.0,
        image_shape: tuple[int, int, int] | None = None,
    ):
        """The backbone network (``backbones.build_backbone``); a conv backbone needs
        ``image_shape`` (C, H, W)."""
        from .backbones import build_backbone

        return build_backbone(self, n_inputs, n_outputs, dropout, image_shape)


def _positive_ints(text: str) -> tuple[int, ...]:
    """``'16,32'`` -> (16, 32); () unless every part is a positive integer."""
    try:
        values = tuple(int(p) for p in text.split(","))
    except ValueError:
        return ()
    return values if all(v > 0 for v in values) else ()


def parse_image_shape(text: str) -> tuple[int, int, int]:
    """``'1x32x32'`` -> (1, 32, 32): channels, height, width of the images."""
    parts = text.strip().lower().split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or not all(v > 0 for v in shape):
        raise ConfigError(
            lambda s: f"invalid image shape {text!r}: use CxHxW with positive integers (channels "
            f"x height x width), e.g. {s('image_shape', '1x32x32')}"
        )
    return shape


def check_image_columns(image_shape: tuple[int, int, int], n_columns: int) -> None:
    """ConfigError unless C * H * W equals the number of feature columns."""
    C, H, W = image_shape
    if C * H * W != n_columns:
        raise ConfigError(
            lambda s: f"{s('image_shape', f'{C}x{H}x{W}')} needs {C * H * W} feature columns "
            f"(the pixels in row-major order), but the table has {n_columns}; select the pixel "
            "columns" + (" with --features or --exclude" if s.cli else "")
        )


# Bytes a training run holds per weight: float32 weights, gradients, the optimiser's state and
# the copies the path keeps (the relaxed model, the best point's state); and per hidden unit of
# a row a training step reads: its float32 pre-activation, activation and their gradients.
BYTES_PER_WEIGHT = 20
BYTES_PER_ACTIVATION = 16


def check_fits_memory(spec: BackboneSpec, n_inputs: int, n_outputs: int = 1,
                      step_rows: int = 0) -> None:
    """ConfigError when an MLP's weights and the activations of a step over ``step_rows``
    rows exceed this machine's memory: an absurd width is the user's to fix, not an
    allocator's crash after minutes of initialising weights and a first step."""
    if spec.kind != "mlp":
        return
    widths = [n_inputs, *spec.hidden, n_outputs]
    weights = sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=True))
    need = weights * BYTES_PER_WEIGHT + step_rows * sum(spec.hidden) * BYTES_PER_ACTIVATION
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): no check
        return
    if need > memory:
        rows = f" and steps over {step_rows:,} rows" if step_rows else ""
        raise ConfigError(lambda s: f"{s('backbone')} {spec} on {n_inputs} inputs has "
                                    f"{weights:,} weights{rows}, about {need / 2**30:,.0f} GiB "
                                    f"to train, more than this machine's "
                                    f"{memory / 2**30:,.0f} GiB of memory: choose smaller "
                                    "hidden layers")
