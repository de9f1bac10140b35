"""Backbone networks g_W and their contract with the LassoNet skip layer.

A backbone is a ``torch.nn.Module`` mapping ``(n, d)`` inputs to ``(n, c)`` outputs that exposes

* ``input_layer``: the ``torch.nn.Linear`` (weight ``(K, d)``) whose columns the hierarchy
  constraint ties to the skip weights, or ``None`` when the backbone has no hidden layer;
* ``head(pre)``: the rest of the network applied to the input layer's pre-activations
  ``(n, K)``; ``forward(x) == head(input_layer(x))``.

The convolutional backbone (``conv:C1,C2``) selects conv1's filters instead of input columns, so
its contract is with ``model.ConvLassoNet`` rather than the skip layer over the inputs:

* ``filter_maps(x)``: ``(n, C*H*W)`` pixels to conv1's ReLU outputs ``z`` ``(n, C1, H, W)``, the
  units that are selected (the skip layer reads ``z`` flattened);
* ``reader_input(z)``: what the constrained layer reads (``z`` max-pooled 2 x 2);
* ``constrained_layer``: conv2, whose weight gamma ``(C2, C1, k, k)`` holds in ``gamma[:, j]``
  everything that reads filter j;
* ``head(pre)``: ReLU, pooling and the linear head on conv2's output ``(n, C2, H2, W2)``.

The path driver and the prox only use these contracts (through the model); they never ask which
kind of network it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn

from .errors import ConfigError

DEFAULT_KERNEL = 3
# conv2's output is pooled to at most HEAD_GRID x HEAD_GRID cells before the linear head
HEAD_GRID = 4


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
    ) -> nn.Module:
        """The backbone network; a conv backbone needs ``image_shape`` (C, H, W)."""
        if self.kind == "linear":
            return LinearBackbone(n_outputs)
        if self.kind == "conv":
            if image_shape is None:
                raise ConfigError(lambda s: "a conv backbone needs the image shape: add "
                                  f"{s('image_shape', 'CxHxW')}")
            check_image_columns(image_shape, n_inputs)
            return ConvBackbone(image_shape, self.hidden, self.kernel, n_outputs, dropout)
        return MLPBackbone(n_inputs, self.hidden, n_outputs, dropout)


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


class LinearBackbone(nn.Module):
    """No hidden layer: the model is the skip layer plus an intercept."""

    input_layer = None

    def __init__(self, n_outputs: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n_outputs))

    def head(self, pre: torch.Tensor | None) -> torch.Tensor:
        raise TypeError("a linear backbone has no input layer")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], -1)


class MLPBackbone(nn.Module):
    """Fully connected ReLU network; its first ``Linear`` is the constrained input layer."""

    def __init__(self, n_inputs: int, hidden: tuple[int, ...], n_outputs: int, dropout: float):
        super().__init__()
        self.input_layer = nn.Linear(n_inputs, hidden[0])
        layers: list[nn.Module] = []
        sizes = list(hidden) + [n_outputs]
        for i in range(len(hidden)):
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        self.rest = nn.Sequential(*layers)

    def head(self, pre: torch.Tensor) -> torch.Tensor:
        return self.rest(pre)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rest(self.input_layer(x))


class ConvBackbone(nn.Module):
    """conv1 (unit-norm filters) -> ReLU (the selected filters) -> max-pool -> conv2
    (constrained) -> ReLU -> pool -> linear head.

    Both conv layers use 'same' padding, so conv1's maps keep the image's H x W; the first pool
    halves them (rounding up) and the second pools conv2's maps to at most ``HEAD_GRID`` cells a
    side.

    Parameters
    ----------
    image_shape : (C, H, W); the input rows are the pixels in row-major order (C * H * W)
    channels : (C1, C2), the output channels of conv1 and conv2
    kernel : k, the kernel size of both conv layers
    n_outputs : c
    dropout : dropout rate before the linear head
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        channels: tuple[int, int],
        kernel: int,
        n_outputs: int,
        dropout: float = 0.0,
    ):
        super().__init__()
        C, H, W = image_shape
        C1, C2 = channels
        self.image_shape = tuple(image_shape)
        self.conv1 = nn.Conv2d(C, C1, kernel, padding="same")
        self.pool1 = nn.MaxPool2d((min(2, H), min(2, W)), ceil_mode=True)
        self.constrained_layer = nn.Conv2d(C1, C2, kernel, padding="same")
        grid = (min(HEAD_GRID, math.ceil(H / 2)), min(HEAD_GRID, math.ceil(W / 2)))
        layers: list[nn.Module] = [nn.ReLU(), nn.AdaptiveMaxPool2d(grid), nn.Flatten()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(C2 * grid[0] * grid[1], n_outputs))
        self.rest = nn.Sequential(*layers)

    @property
    def n_filters(self) -> int:
        return self.conv1.out_channels

    def filter_maps(self, x: torch.Tensor) -> torch.Tensor:
        """(n, C*H*W) pixels -> (n, C1, H, W) ReLU outputs of conv1's unit-norm filters."""
        weight, bias = self.filters()
        images = x.reshape(x.shape[0], *self.image_shape)
        return torch.relu(nn.functional.conv2d(images, weight, bias, padding="same"))

    def filters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """conv1's effective weight (C1, C, k, k) and bias (C1,): each filter (weight and bias
        together) divided by its Euclidean norm.

        ReLU is positively homogeneous: without the normalisation, scaling filter j up by s and
        theta_j, gamma_j down by s leaves the network's output unchanged and divides the penalty
        lambda ||theta_j|| by s, so the path would shrink every filter's skip weights towards 0
        (while conv1 grows) instead of eliminating filters.  With unit-norm filters the scale
        of filter j's output lives in theta_j and gamma_j alone, where the penalty sees it.
        """
        w, b = self.conv1.weight, self.conv1.bias
        norm = torch.sqrt((w * w).sum(dim=(1, 2, 3)) + b * b).clamp_min(1e-12)
        return w / norm.view(-1, 1, 1, 1), b / norm

    def reader_input(self, z: torch.Tensor) -> torch.Tensor:
        """What conv2 reads: the filter maps pooled, channel by channel."""
        return self.pool1(z)

    def head(self, pre: torch.Tensor) -> torch.Tensor:
        """conv2's output (n, C2, H2, W2) -> (n, c)."""
        return self.rest(pre)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.filter_maps(x)
        return self.head(self.constrained_layer(self.reader_input(z)))
