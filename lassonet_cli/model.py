"""The LassoNet module: a linear skip layer beside a backbone whose input layer it constrains.

f(x) = theta^T x + g_W(x), with the hierarchy ||W^(0)_j||_inf <= M ||theta_j||_2 restored after
each optimiser step by HIER-PROX (see ``prox``).  ``ConvLassoNet`` applies the same constraint
to the filters of a convolutional layer (``backbones.ConvBackbone``).

The path driver sees either model through one interface: ``forward``, ``n_units``,
``prox_(lam, M, keep)``, ``prox_step(lam, M, keep)`` (the same as a function of no arguments,
for every step of a fit), ``feature_mask(alive_units)`` (the ``keep`` that ``prox_`` takes),
``unit_norms()``, ``penalty()``, ``skip_inputs(X)`` (what the skip layer reads),
``alive_columns(keep, rows)`` (the input columns ``forward(x, columns)`` may be restricted
to, or None) and ``exit_thresholds(task, X, y, M, units)``.  ``refit_network(units, spec,
dropout)`` builds the network that ``lassonet path`` refits on a set of units (columns or
filters, ``evaluate.refit_score``).

Exit thresholds.  For every unit j the smallest penalty at which theta_j = 0, W_j = 0 is a
stationary point of the penalised problem when everything else stays as it is (see ``start``):

    lam_j = ||g_theta||_2 + M * ||g_W||_1                                             (*)

with g_theta, g_W the loss gradients for the unit's skip block and constrained-layer block, taken
with the unit removed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .prox import (
    GroupLayout,
    hier_prox,
    hier_prox_features_,
    hier_prox_features_step,
    hier_prox_groups,
)

# a forward restricted to the alive columns (``LassoNet.alive_columns``) pays where it leaves
# out at least this many multiply-adds per step in the layers that read the input
# (``benchmarks/column_index.py``, 2 cores, 2026-11-24: training steps timed with and without
# the index, interleaved, on the tables of ``compare_reference.py``).  The index cost 19-55
# microseconds a step where it left out 0.03-0.88 million (breast_cancer and diabetes at every
# share alive, the toy at 50-90%, digits at 90%) and saved 30-2,400 from 1.0 million up (the toy
# at 20%, digits at 70% and less, madelon at 95% and less)
MIN_SAVED_PRODUCTS = 1_000_000


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

    def read_inputs(self) -> torch.Tensor:
        """(n_inputs,) bool: the inputs the model reads (an eliminated one has zero skip
        weights, and by the hierarchy zero first-layer weights)."""
        return (self.skip.weight != 0).any(dim=0)

    def alive_columns(
        self, keep: torch.Tensor | None, rows: int | None = None
    ) -> torch.Tensor | None:
        """(a,) long index of the input features ``keep`` (a ``feature_mask``) leaves in, or
        None when that is all of them (then ``forward`` needs no index).

        ``rows``: the rows a forward will take.  When given, None is returned too where the
        columns left out would save fewer than ``MIN_SAVED_PRODUCTS`` multiply-adds in the
        layers that read the input: the index costs a few operations of its own in the forward
        and as many in the backward (gathering the weights, scattering their gradients), which
        a small table's step does not win back (the weights of the columns out are zero, so
        the forward is the same either way, up to rounding).
        """
        if keep is None:
            return None
        columns = keep.nonzero().squeeze(1)
        if len(columns) == len(keep):
            return None
        if rows is not None:
            layer = self.backbone.input_layer
            width = self.skip.out_features + (layer.out_features if layer is not None else 0)
            if (len(keep) - len(columns)) * rows * width < MIN_SAVED_PRODUCTS:
                return None
        return columns

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

    def prox_step(
        self, lam: float | torch.Tensor, M: float, keep: torch.Tensor | None = None
    ) -> Callable[[], torch.Tensor]:
        """``prox_(lam, M, keep)`` as a function of no arguments, for a fit that applies it
        after every optimiser step: without groups the kernel's checks and arguments are
        prepared once (``prox.hier_prox_features_step``)."""
        if self.groups is not None:
            return functools.partial(self.prox_, lam, M, keep)
        layer = self.backbone.input_layer
        W = layer.weight if layer is not None else None
        # the parameters themselves, not detached views: one given new memory (``module.to``
        # assigns ``.data``) is followed there
        return hier_prox_features_step(self.skip.weight, W, lam, M, keep)

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

    def skip_inputs(self, X: torch.Tensor) -> torch.Tensor:
        """(n, d) what the skip layer reads: the inputs themselves."""
        return X

    def exit_thresholds(
        self, task, X: torch.Tensor, y: torch.Tensor, M: float, units: np.ndarray | None = None
    ) -> np.ndarray:
        """The threshold (*) for every unit, or for ``units`` only.

        Zeroing one unit changes the input layer's pre-activations by a rank-|unit| term, so
        all units are evaluated in a few batched forward/backward passes (m copies of the
        model at once, ``task.loss_of_copies``).

        Parameters
        ----------
        task : a task (``loss``, ``loss_of_copies``)
        X : (n, d) rows to evaluate on; y : their encoded targets
        M : hierarchy multiplier
        units : optional indices of the units to evaluate (default all)

        Returns
        -------
        (n_units,) or (len(units),) ndarray
        """
        self.eval()
        n, d = X.shape
        index = self._unit_index().to(X.device)  # (G, s), padded with d
        if units is not None:
            index = index[torch.as_tensor(np.asarray(units, dtype=np.int64), device=X.device)]
        G, s = index.shape
        Xp = torch.cat([X, X.new_zeros(n, 1)], dim=1)
        layer = self.backbone.input_layer
        skip = self.skip.weight
        theta = torch.cat([skip, skip.new_zeros(skip.shape[0], 1)], dim=1)
        with torch.no_grad():
            skip_out = self.skip(X)
            pre = layer(X) if layer is not None else None
        width = max(pre.shape[1] if pre is not None else 0, skip_out.shape[1])
        chunk = max(1, (1 << 22) // max(1, n * width))
        result = torch.empty(G, dtype=X.dtype, device=X.device)
        for start in range(0, G, chunk):
            idx = index[start : start + chunk]  # (m, s)
            m = idx.shape[0]
            Xu = Xp[:, idx]  # (n, m, s) the unit's input columns
            with torch.no_grad():
                out_r = skip_out.unsqueeze(0) - torch.einsum("nms,cms->mnc", Xu, theta[:, idx])
                if layer is not None:
                    Wp = torch.cat([layer.weight, layer.weight.new_zeros(layer.weight.shape[0], 1)],
                                   1)
                    pre_r = pre.unsqueeze(0) - torch.einsum("nms,kms->mnk", Xu, Wp[:, idx])
            out_r = out_r.requires_grad_(True)
            with torch.enable_grad():
                if layer is not None:
                    pre_r = pre_r.requires_grad_(True)
                    head = self.backbone.head(pre_r.reshape(m * n, -1)).reshape(m, n, -1)
                    total = out_r + head
                else:
                    total = out_r + self.backbone(X).unsqueeze(0)
                loss = task.loss_of_copies(total, y)  # the m models' losses, summed
                wrt = (out_r, pre_r) if layer is not None else (out_r,)
                grads = torch.autograd.grad(loss, wrt)
            g_theta = torch.einsum("mnc,nms->mcs", grads[0], Xu).flatten(1)
            value = torch.linalg.vector_norm(g_theta, dim=1)
            if layer is not None:
                g_W = torch.einsum("mnk,nms->mks", grads[1], Xu).flatten(1)
                value = value + M * g_W.abs().sum(dim=1)
            result[start : start + m] = value
        return result.detach().cpu().numpy()

    @torch.no_grad()
    def _unit_index(self) -> torch.Tensor:
        """(n_units, s) the input columns of each unit, padded with d."""
        if self.groups is not None:
            return self.groups.index
        return torch.arange(self.skip.in_features).unsqueeze(1)

    def refit_network(self, units, spec, dropout: float = 0.0) -> tuple[LassoNet, np.ndarray]:
        """A fresh network that reads only the model inputs ``units``, for a refit
        (``evaluate.refit_score``): ``on_columns`` with this model's output size."""
        return LassoNet.on_columns(units, spec, self.skip.out_features, dropout)

    @staticmethod
    def on_columns(units, spec, n_outputs: int, dropout: float = 0.0
                   ) -> tuple[LassoNet, np.ndarray]:
        """A fresh LassoNet of backbone ``spec`` over the k = len(units) input columns
        ``units``; returns it and ``units`` (k,), the columns of X it reads."""
        units = np.asarray(units, dtype=np.int64)
        k = len(units)
        return LassoNet(k, n_outputs, spec.build(k, n_outputs, dropout)), units


class ConvLassoNet(nn.Module):
    """LassoNet over the filters of a convolutional layer.

    With z = relu(conv1(x)) the C1 filter maps (n, C1, H, W), the model is

        f(x) = theta^T flatten(z) + head(conv2(pool(z)))

    The skip layer theta (c, C1*H*W) reads the flattened maps; its block theta_j (c, H*W) holds
    filter j's columns.  conv2's weight gamma (C2, C1, k, k) is the constrained layer: gamma_j =
    gamma[:, j] holds every weight that reads filter j.  The group HIER-PROX couples them,
    ||gamma_j||_inf <= M ||theta_j||_2, so a filter enters and leaves as one unit; a dead filter
    (theta_j = 0, gamma_j = 0) no longer affects the output.  conv1's own weights and the head
    are free (conv1 is used with unit-norm filters, see ``ConvBackbone.filters``).

    Parameters
    ----------
    backbone : backbones.ConvBackbone
    n_outputs : int
        c, the network's output size.
    """

    def __init__(self, backbone: nn.Module, n_outputs: int):
        super().__init__()
        C, H, W = backbone.image_shape
        self.backbone = backbone
        self.skip = nn.Linear(backbone.n_filters * H * W, n_outputs, bias=False)

    @property
    def n_units(self) -> int:
        """Number of selectable units: conv1's filters."""
        return self.backbone.n_filters

    def forward(self, x: torch.Tensor, columns: None = None) -> torch.Tensor:
        """Outputs (n, c) for images x (n, C*H*W); ``columns`` is always None here
        (``alive_columns``), accepted for the path's one calling convention."""
        z = self.backbone.filter_maps(x)
        pre = self.backbone.constrained_layer(self.backbone.reader_input(z))
        return self.skip(z.flatten(1)) + self.backbone.head(pre)

    def _theta_blocks(self) -> torch.Tensor:
        """(C1, c, H*W) view of the skip weight, one block per filter."""
        c = self.skip.out_features
        return self.skip.weight.reshape(c, self.n_units, -1).transpose(0, 1)

    @torch.no_grad()
    def prox_(
        self, lam: float | torch.Tensor, M: float, keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Group HIER-PROX with step-scaled penalty ``lam`` on (theta_j, gamma_j), every filter j.

        ``keep``: optional (C1,) 0/1 float mask of the filters still in the model (from
        ``feature_mask``); the others are held at zero.  Returns the (C1,) norms ||theta_j||_2.
        """
        theta = self._theta_blocks()  # (C1, c, HW)
        gamma = self.backbone.constrained_layer.weight.transpose(0, 1)  # (C1, C2, k, k)
        b, w = hier_prox(theta.flatten(1), gamma.flatten(1), lam, M)
        if keep is not None:
            b.mul_(keep.unsqueeze(1))
            w.mul_(keep.unsqueeze(1))
        theta.copy_(b.view_as(theta))
        gamma.copy_(w.view_as(gamma))
        return self.unit_norms()

    def prox_step(
        self, lam: float | torch.Tensor, M: float, keep: torch.Tensor | None = None
    ) -> Callable[[], torch.Tensor]:
        """``prox_(lam, M, keep)`` as a function of no arguments (the path's per-step call)."""
        return functools.partial(self.prox_, lam, M, keep)

    def feature_mask(self, alive_units: torch.Tensor) -> torch.Tensor:
        """(C1,) float mask of the filters in ``alive_units`` (bool): ``prox_``'s ``keep``."""
        return alive_units.to(self.skip.weight.dtype)

    def alive_columns(self, keep: torch.Tensor | None, rows: int | None = None) -> None:
        """Every pixel feeds every filter: no input column can be dropped (always None)."""
        return None

    def read_inputs(self) -> torch.Tensor:
        """(n_inputs,) bool: every pixel feeds every filter, so every input is read."""
        return torch.ones(math.prod(self.backbone.image_shape), dtype=torch.bool,
                          device=self.skip.weight.device)

    @torch.no_grad()
    def unit_norms(self) -> torch.Tensor:
        """(C1,) ||theta_j||_2 of each filter's skip block; 0 means the filter is out."""
        return torch.linalg.vector_norm(self._theta_blocks().flatten(1), dim=1)

    def penalty(self) -> torch.Tensor:
        """sum over filters of ||theta_j||_2."""
        return self.unit_norms().sum()

    def skip_inputs(self, X: torch.Tensor) -> torch.Tensor:
        """(n, C1*H*W) what the skip layer reads: the flattened filter maps."""
        with torch.no_grad():
            return self.backbone.filter_maps(X).flatten(1)

    def exit_thresholds(
        self, task, X: torch.Tensor, y: torch.Tensor, M: float, units: np.ndarray | None = None
    ) -> np.ndarray:
        """The threshold (*) for every filter, or for ``units`` only.

        Filter j enters the output additively twice: theta_j . z_j in the skip output and
        conv2(pool(z_j), gamma_j) in conv2's pre-activations.  Both are subtracted from one
        forward pass; the gradients with respect to the two reduced tensors give g_theta (the
        product with z_j) and g_gamma (conv2's weight gradient on filter j's pooled map).  One
        small backward pass through the head per filter (C1 is small).

        Parameters
        ----------
        X : (n, C*H*W) rows; y : their encoded targets; M : hierarchy multiplier
        units : optional filter indices (default all)

        Returns
        -------
        (C1,) or (len(units),) ndarray
        """
        self.eval()
        net = self.backbone
        conv2 = net.constrained_layer
        units = range(self.n_units) if units is None else [int(j) for j in units]
        with torch.no_grad():
            z = net.filter_maps(X)  # (n, C1, H, W)
            r = net.reader_input(z)  # (n, C1, H2, W2)
            skip_out = self.skip(z.flatten(1))
            pre = conv2(r)
        theta = self._theta_blocks()  # (C1, c, HW)
        gamma = conv2.weight  # (C2, C1, k, k)
        padding = conv2.kernel_size[0] // 2
        values = []
        for j in units:
            zj, rj, gj = z[:, j].flatten(1), r[:, j : j + 1], gamma[:, j : j + 1]
            with torch.no_grad():
                out_r = skip_out - zj @ theta[j].T
                pre_r = pre - torch.nn.functional.conv2d(rj, gj, padding=padding)
            out_r.requires_grad_(True)
            pre_r.requires_grad_(True)
            with torch.enable_grad():
                loss = task.loss(out_r + net.head(pre_r), y)
                g_out, g_pre = torch.autograd.grad(loss, (out_r, pre_r))
            g_theta = g_out.T @ zj  # (c, HW)
            g_gamma = torch.nn.grad.conv2d_weight(rj, gj.shape, g_pre, padding=padding)
            values.append(torch.linalg.vector_norm(g_theta) + M * g_gamma.abs().sum())
        if not values:
            return np.zeros(0)
        return torch.stack(values).detach().cpu().numpy()

    def refit_network(self, units, spec, dropout: float = 0.0) -> tuple[ConvLassoNet, None]:
        """A fresh network that reads only conv1's filters ``units``, for a refit
        (``evaluate.refit_score``).

        Its conv1 holds those k filters as they are in this model, in the order given, and
        keeps them (their weights do not train): the filters are what was selected, as the
        columns are for a ``LassoNet``.  The other filters are not in it at all; conv2 reads k
        channels, and conv2, the skip layer (k * H * W columns) and the head are new, of
        ``spec``'s sizes.  Returns the network and None (it reads every pixel).
        """
        mine = self.backbone
        filters = torch.as_tensor(np.asarray(units, dtype=np.int64),
                                  device=mine.conv1.weight.device)
        C2 = mine.constrained_layer.out_channels
        narrow = dataclasses.replace(spec, hidden=(len(filters), C2))
        n_outputs = self.skip.out_features
        backbone = narrow.build(math.prod(mine.image_shape), n_outputs, dropout, mine.image_shape)
        with torch.no_grad():
            backbone.conv1.weight.copy_(mine.conv1.weight[filters])
            backbone.conv1.bias.copy_(mine.conv1.bias[filters])
        backbone.conv1.requires_grad_(False)
        return ConvLassoNet(backbone, n_outputs), None


def build_model(
    spec,
    n_inputs: int,
    n_outputs: int,
    dropout: float = 0.0,
    groups: GroupLayout | None = None,
    image_shape: tuple[int, int, int] | None = None,
) -> nn.Module:
    """The LassoNet module for a ``backbones.BackboneSpec``: ``ConvLassoNet`` for a conv
    backbone (units: conv1's filters), else ``LassoNet`` (units: features or groups)."""
    backbone = spec.build(n_inputs, n_outputs, dropout, image_shape)
    if spec.selects_filters:
        return ConvLassoNet(backbone, n_outputs)
    return LassoNet(n_inputs, n_outputs, backbone, groups)
