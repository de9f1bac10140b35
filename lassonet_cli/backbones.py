"""Backbone networks g_W and their contract with the LassoNet skip layer.

A backbone is a ``torch.nn.Module`` mapping ``(n, d)`` inputs to ``(n, c)`` outputs that exposes

* ``input_layer``: the ``torch.nn.Linear`` (weight ``(K, d)``) whose columns the hierarchy
  constraint ties to the skip weights, or ``None`` when the backbone has no hidden layer;
* ``head(pre)``: the rest of the network applied to the input layer's pre-activations
  ``(n, K)``; ``forward(x) == head(input_layer(x))``.

The path driver and the prox only use this contract; they never ask which kind of network it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .errors import ConfigError


@dataclass(frozen=True)
class BackboneSpec:
    """A parsed ``--backbone`` value: ``linear`` or ``mlp:H1,H2,...``."""

    kind: str
    hidden: tuple[int, ...] = ()

    @classmethod
    def parse(cls, text: str) -> BackboneSpec:
        text = text.strip().lower()
        if text == "linear":
            return cls("linear")
        if text == "mlp":
            return cls("mlp", (100,))
        if text.startswith("mlp:"):
            parts = text[4:].split(",")
            try:
                hidden = tuple(int(p) for p in parts)
            except ValueError:
                hidden = ()
            if hidden and all(h > 0 for h in hidden):
                return cls("mlp", hidden)
        raise ConfigError(
            f"invalid backbone {text!r}: use 'linear' or 'mlp:H1,H2,...' with positive hidden "
            "sizes, e.g. --backbone mlp:100"
        )

    def __str__(self) -> str:
        if self.kind == "linear":
            return "linear"
        return "mlp:" + ",".join(str(h) for h in self.hidden)

    def build(self, n_inputs: int, n_outputs: int, dropout: float = 0.0) -> nn.Module:
        if self.kind == "linear":
            return LinearBackbone(n_outputs)
        return MLPBackbone(n_inputs, self.hidden, n_outputs, dropout)


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
