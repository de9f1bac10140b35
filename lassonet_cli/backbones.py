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

import torch
from torch import nn

from .backbone_spec import (  # noqa: F401 (BackboneSpec and the image shape, re-exported)
    DEFAULT_KERNEL,
    HEAD_GRID,
    BackboneSpec,
    check_fits_memory,
    check_image_columns,
    head_grid,
    parse_image_shape,
)
from .errors import ConfigError


def build_backbone(
    spec: BackboneSpec,
    n_inputs: int,
    n_outputs: int,
    dropout: float = 0.0,
    image_shape: tuple[int, int, int] | None = None,
) -> nn.Module:
    """The backbone network ``spec`` names; a conv backbone needs ``image_shape`` (C, H, W)."""
    if spec.kind == "linear":
        return LinearBackbone(n_outputs)
    if spec.kind == "conv":
        if image_shape is None:
            raise ConfigError(lambda s: "a conv backbone needs the image shape: add "
                              f"{s('image_shape', 'CxHxW')}")
        check_image_columns(image_shape, n_inputs)
        return ConvBackbone(image_shape, spec.hidden, spec.kernel, n_outputs, dropout)
    check_fits_memory(spec, n_inputs, n_outputs)
    return MLPBackbone(n_inputs, spec.hidden, n_outputs, dropout)


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
        grid = head_grid(H, W)
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
