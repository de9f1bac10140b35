"""The LassoNet module: a linear skip layer beside a backbone whose input layer it constrains.

f(x) = theta^T x + g_W(x), with the hierarchy ||W^(0)_j||_inf <= M ||theta_j||_2 restored after
each optimiser step by HIER-PROX (see ``prox``).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .prox import GroupLayout, hier_prox_features_, hier_prox_groups


class LassoNet(nn.Module):
    """Skip layer plus backbone.

    Parameters
    ----------
    n_inputs : int
        d, the number of input features.
    n_outputs : int
        c, the network's output size.
    backbone : nn.Module
        A backbone following the contract in ``backbones`` (``input_layer``, ``head``).
    groups : GroupLayout or None
        Feature groups that enter and leave together; None means every feature is its own unit.
    """

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        backbone: nn.Module,
        groups: GroupLayout | None = None,
    ):
        super().__init__()
        self.skip = nn.Linear(n_inputs, n_outputs, bias=False)
        self.backbone = backbone
        self.groups = groups

    @property
    def n_units(self) -> int:
        """Number of selectable units: groups if any, else features."""
        return self.groups.n_groups if self.groups is not None else self.skip.in_features

    def forward(self, x: torch.Tensor, columns: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs (n, c) for inputs x (n, d).

        ``columns``: optional (a,) index of the input features still in the model
        (``alive_columns``), with x holding only those, (n, a).  The other features' weights
        are zero, so leaving them out changes nothing but the cost: along the path most
        features are out, and the input layer is the largest product of the step.
        """
        if columns is None:
            return self.skip(x) + self.backbone(x)
        out = F.linear(x, self.skip.weight.index_select(1, columns))
        layer = self.backbone.input_layer
        if layer is None:
            return out + self.backbone(x)
        pre = F.linear(x, layer.weight.index_select(1, columns), layer.bias)
        return out + self.backbone.head(pre)

    def alive_columns(self, keep: torch.Tensor | None) -> torch.Tensor | None:
        """(a,) long index of the input features ``keep`` (a ``feature_mask``) leaves in, or
        None when that is all of them (then ``forward`` needs no index)."""
        if keep is None:
            return None
        columns = keep.nonzero().squeeze(1)
        return None if len(columns) == len(keep) else columns

    @torch.no_grad()
    def prox_(
        self, lam: float | torch.Tensor, M: float, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Apply HIER-PROX with step-scaled penalty ``lam`` to (theta, W^(0)) in place.

        ``keep``: optional (d,) 0/1 float mask of the input features still in the model; the
        others are held at zero (a unit eliminated on the path stays out).  The prox runs over
        all d features even when ``forward`` reads only the alive ones: an eliminated feature
        costs two multiplications here, less than gathering the alive columns and scattering
        them back (measured).

        Returns the (n_units,) norms ||theta_unit||_2 after the step (``unit_norms``).
        """
        layer = self.backbone.input_layer
        W = layer.weight if layer is not None else None
        if self.groups is None:
            return hier_prox_features_(self.skip.weight, W, lam, M, keep)
        theta, W_new = hier_prox_groups(self.skip.weight, W, self.groups, lam, M)
        if keep is not None:
            theta = theta * keep
            W_new = W_new * keep if W_new is not None else None
        self.skip.weight.copy_(theta)
        if W is not None:
            W.copy_(W_new)
        return self.unit_norms()

    def feature_mask(self, alive_units: torch.Tensor) -> torch.Tensor:
        """(d,) float mask of the input features of the units in ``alive_units`` (bool)."""
        if self.groups is not None:
            alive_units = alive_units[self._group_of(alive_units.device)]
        return alive_units.to(self.skip.weight.dtype)

    @torch.no_grad()
    def unit_norms(self) -> torch.Tensor:
        """(n_units,) Euclidean norm of each unit's skip weights; 0 means the unit is out."""
        sq = (self.skip.weight**2).sum(dim=0)
        if self.groups is not None:
            sq = torch.zeros(self.n_units, dtype=sq.dtype, device=sq.device).index_add_(
                0, self._group_of(sq.device), sq
            )
        return sq.sqrt()

    def _group_of(self, device: torch.device) -> torch.Tensor:
        cached = getattr(self, "_group_of_cache", None)
        if cached is None or cached.device != device:
            cached = self.groups.group_of().to(device)
            self._group_of_cache = cached
        return cached

    def penalty(self) -> torch.Tensor:
        """sum over units of ||theta_unit||_2 (the lambda-weighted term of the objective)."""
        return self.unit_norms().sum()
