"""Cox proportional hazards: the negative partial log-likelihood and Harrell's C-index.

Pure tensor functions of risk scores eta (the network output, log relative hazard up to a
constant) and right-censored targets (time, event).  Both depend on the times only through their
order, so callers may pass time ranks.

Partial likelihood (Cox 1972), for the distinct event times t_g with D_g the rows that have an
event at t_g (d_g of them) and R_g = {j : t_j >= t_g} the rows at risk (a row censored at t_g is
still at risk there)::

    Breslow:  -log PL = sum_g [ d_g log S_g - sum_{i in D_g} eta_i ]
    Efron:    -log PL = sum_g [ sum_{l=0}^{d_g-1} log(S_g - (l / d_g) E_g) - sum_{i in D_g} eta_i ]

with S_g = sum_{j in R_g} exp(eta_j) and E_g = sum_{i in D_g} exp(eta_i) (Efron 1977).  Without
tied event times both are the same.  The loss here is that sum divided by the number of events.
"""

from __future__ import annotations

import torch

TIES = ("efron", "breslow")
TIED_EPS = 64


def cox_loss(eta: torch.Tensor, time: torch.Tensor, event: torch.Tensor,
             ties: str = "efron") -> torch.Tensor:
    """Negative partial log-likelihood per event, for one or several sets of risk scores.

    Rows are sorted by time once; the risk-set sums are a cumulative log-sum-exp over that order,
    read at the last row of each group of tied times, and the tied events' sums (Efron) are
    segment sums over the groups.  No loop over rows or groups.

    Parameters
    ----------
    eta : (m, n) or (n,) risk scores; each of the m rows is scored on its own
    time : (n,) times (or their ranks)
    event : (n,) 1 for an observed event, 0 for a censored row
    ties : 'efron' or 'breslow'

    Returns
    -------
    (m,) or () tensor: the loss of each set of scores; 0 when the rows hold no event (a minibatch
    without events carries no information about the order of risks).
    """
    if ties not in TIES:
        raise ValueError(f"unknown ties method {ties!r}: use efron or breslow")
    single = eta.dim() == 1
    x2 = eta.unsqueeze(0) if single else eta
    order = torch.sort(time, descending=True, stable=True).indices
    x = x2[:, order]  # (m, n), latest time first
    e = event[order].to(x.dtype)  # (n,)
    is_event = e > 0
    _, group, counts = torch.unique_consecutive(time[order], return_inverse=True,
                                                return_counts=True)
    last = counts.cumsum(0) - 1  # (G,) last row of each group: its risk set is everything so far
    log_risk = torch.logcumsumexp(x, dim=1)[:, last]  # (m, G) log S_g
    terms = log_risk[:, group] - x  # (m, n) log S_g(i) - eta_i
    if ties == "efron":
        terms = terms + _efron_correction(x, e, is_event, group, counts, log_risk)
    n_events = e.sum()
    loss = (terms * e).sum(dim=1) / n_events.clamp_min(1)
    return loss[0] if single else loss


def _efron_correction(x: torch.Tensor, e: torch.Tensor, is_event: torch.Tensor,
                      group: torch.Tensor, counts: torch.Tensor,
                      log_risk: torch.Tensor) -> torch.Tensor:
    """(m, n) log(1 - (l_i / d_g) E_g / S_g) for the l_i-th event of its group (0 elsewhere).

    Then log S_g + this term = log(S_g - (l / d_g) E_g), Efron's denominator.
    """
    m, n = x.shape
    G = counts.shape[0]
    d = torch.zeros(G, dtype=e.dtype, device=e.device).index_add_(0, group, e)  # (G,)
    # log E_g, shifted by the group's largest event score (detached: the shift cancels)
    masked = torch.where(is_event, x, torch.full_like(x, -torch.inf))
    top = torch.full((m, G), -torch.inf, dtype=x.dtype, device=x.device).scatter_reduce(
        1, group.expand(m, n), masked, "amax", include_self=True
    )
    shift = torch.where(d > 0, top, log_risk).detach()  # (m, G); groups without events: E_g = 0
    scaled = torch.exp(torch.where(is_event, x - shift[:, group], torch.full_like(x, -torch.inf)))
    tied_sum = torch.zeros((m, G), dtype=x.dtype, device=x.device).index_add_(1, group, scaled)
    ratio = (tied_sum * torch.exp(shift - log_risk)).clamp(max=1.0)  # (m, G) E_g / S_g
    # l_i: events of the same group before row i (rows of a group are contiguous)
    running = e.cumsum(0)  # (n,)
    first = counts.cumsum(0) - counts
    before = (running - e)[first]  # (G,) events in earlier groups
    rank_in_group = running - 1 - before[group]  # (n,) meaningful on event rows
    fraction = torch.where(is_event, rank_in_group / d[group].clamp_min(1), torch.zeros_like(e))
    return torch.log1p(-fraction * ratio[:, group])


def concordance_index(risk: torch.Tensor, time: torch.Tensor,
                      event: torch.Tensor) -> torch.Tensor:
    """Harrell's C-index: the share of comparable pairs whose risks are in the right order.

    A pair (i, j) is comparable when row i has an event and row j outlived it: t_j > t_i, or
    t_j = t_i with j censored (censoring at an event time counts as after the event, as in the
    risk sets).  Pairs of tied event times and pairs whose earlier row is censored are not
    comparable.  A comparable pair counts 1 if risk_i > risk_j, 1/2 if the risks are equal.
    Risks closer than ``TIED_EPS`` float epsilons times the largest |risk| (between neighbours
    in sorted order) count as equal: a network that scores rows alike (e.g. with no feature
    left) gives outputs that differ in the last bits by the order of its sums, and that
    rounding must not order them.

    O(n log^2 n) time and O(n) memory: rows are ordered by time (events before censored rows at
    the same time, then by risk), and for every event the later rows with a smaller or equal risk
    are counted by a bottom-up merge over blocks of 1, 2, 4, ... rows (each pair of rows is
    counted at the one level where they fall in the two halves of a block), with sorted keys and
    ``searchsorted`` instead of a loop over rows.

    Parameters
    ----------
    risk : (n,) predicted risk (higher = earlier event expected)
    time : (n,) times (or their ranks)
    event : (n,) 1 for an observed event, 0 for a censored row

    Returns
    -------
    () tensor in [0, 1], in risk's dtype; 0.5 when no pair is comparable.
    """
    n = risk.shape[0]
    device = risk.device
    rank = _tied_ranks(risk.detach())  # (n,) equal risks, equal rank
    is_event = event > 0
    # order by (time, censored after events, risk): stable sorts from the last key to the first
    order = torch.sort(rank, stable=True).indices
    order = order[torch.sort((~is_event[order]).to(torch.int8), stable=True).indices]
    order = order[torch.sort(time[order], stable=True).indices]
    r, ev, t = rank[order], is_event[order], time[order]

    pos = torch.arange(n, device=device)
    smaller = torch.zeros(n, dtype=torch.int64, device=device)
    equal = torch.zeros(n, dtype=torch.int64, device=device)
    width = 1
    while width < n:
        block = pos // (2 * width)
        in_right = (pos // width) % 2 == 1
        keys = torch.sort(block[in_right] * n + r[in_right]).values
        query = block * n + r
        start = torch.searchsorted(keys, block * n)
        below = torch.searchsorted(keys, query)
        upto = torch.searchsorted(keys, query, right=True)
        smaller += torch.where(in_right, 0, below - start)
        equal += torch.where(in_right, 0, upto - below)
        width *= 2

    later = n - 1 - pos
    comparable = later[ev].sum()
    concordant = smaller[ev].sum()
    tied_risk = equal[ev].sum()
    # the order also counted pairs of events at the same time (not comparable); risks ascend
    # within them, so they only added to `comparable` and, for equal risks, to `tied_risk`
    _, event_time_counts = torch.unique(t[ev], return_counts=True)
    comparable = comparable - (event_time_counts * (event_time_counts - 1) // 2).sum()
    time_group = torch.unique(t, return_inverse=True)[1]
    _, same_risk_counts = torch.unique(time_group[ev] * n + r[ev], return_counts=True)
    tied_risk = tied_risk - (same_risk_counts * (same_risk_counts - 1) // 2).sum()

    # exact integer counts; one division in risk's dtype (no float64 on every device)
    value = (2 * concordant + tied_risk).to(risk.dtype) / (2 * comparable.clamp_min(1)).to(
        risk.dtype)
    return torch.where(comparable > 0, value, torch.full_like(value, 0.5))


def _tied_ranks(risk: torch.Tensor) -> torch.Tensor:
    """(n,) dense ranks of ``risk``; neighbours within the tolerance share a rank."""
    values, order = torch.sort(risk)
    tolerance = TIED_EPS * torch.finfo(risk.dtype).eps * risk.abs().max()
    step = torch.cat([values.new_zeros(1, dtype=torch.int64),
                      (values.diff() > tolerance).to(torch.int64)])
    return torch.empty_like(order).scatter_(0, order, step.cumsum(0))
