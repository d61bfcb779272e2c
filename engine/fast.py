r"""The fast path: the seed-shaped network of :mod:`engine.kinds`, for training and for batches.

At this network's size the cost is the number of NumPy calls (0.4-2 us each), not the
arithmetic. So each step makes few calls, with index tables computed once per
configuration (:func:`plan_for`), and none of the slow helpers (``*_along_axis``,
``np.mean``, reductions or argmax along short axes).

**Parameters as one vector.** Training keeps the four tensors in one flat float64 vector
``theta``; the tensors are views of it and the update is a single ``theta += step``
(the step comes out of the backward pass already multiplied by -lr). Its layout::

    [ W1[0] (k*k), b1[0], W1[1], b1[1], ..., W1[K-1], b1[K-1],  W2 (D),  b2,  0 ]
      \_____________ Wb: (K, k*k+1), filter f's weights then its bias ___/

Writing the bias after the weights is the "bias is a weight on a constant input 1" trick:
every example gets a trailing 1 (``Xa`` = X flattened, then 1; :func:`augment`), so a
patch of k*k pixels followed by that 1, dotted with a row of ``Wb``, is Z1 with b1 already
added, and the same product gives db1 in the backward pass. The final 0 is a constant the
convolution table points at where a pixel meets no weight; its step is always 0.

**Only the pooled cells matter.** Cells of Z1 that fall in no pooling window (the dropped
remainder) reach neither the loss nor any gradient, so training never computes them.
Within a window, ReLU and max commute, so the window's winner is found on Z1 itself: where
the maximum is > 0 it is the same cell as on A1 (the first maximum in row-major order), and
where it is <= 0 the window gives F = 0 and passes no gradient, whichever cell wins.

**One example** (:meth:`Net.step_one`, what training runs at batch size 1; ~20 calls):
gather the example's patches of the pooled cells, window by window (``P``, (k*k+1, cells),
one fancy index); ``Z = Wb P``; the winners are an ``argmax`` per window; Z2, A2, L and
dZ2 are Python floats (``math``); backward, dZ1 is zero but at the winners (one ``put``)
and ``[dW1 db1] = dZ1 P^T`` is one product, written straight into the step vector.

**A batch** (:meth:`Net.step_batch`): the convolution is one matrix product with M, the
Toeplitz matrix of W1 (and b1), built by one gather from ``theta``. The product is written
so that the batch is the LAST, contiguous axis of Z, and every elementwise call then runs
over long rows (NumPy pays ~10 ns per row, so a max or argmax over (B, 4)-shaped windows
costs 10x more than the same work over (4, B)). Rows of Z are ordered (cell in window,
filter, window), so pooling is a scan of p*p (filter, window, batch) slabs with
``maximum`` and ``greater``. Backward, ``dZ1 Xa`` is one product and a ``bincount`` adds
its entries up onto the theta entries of M. Batches larger than ``CHUNK`` go through in
chunks whose gradients are summed: the same step, with temporaries that stay in cache.

:func:`trace_batch` returns every tensor in the readable path's layout, batch axis first
(the tests hold it to the readable path at 1e-12); :func:`grad_step` is one training step
on parameters given as a dict; :func:`predict` is A2 for a batch.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .config import Config
from .kinds import _settle


@dataclass(frozen=True, eq=False)
class Plan:
    """Sizes and index tables for one configuration (see the module docstring).

    "cells" are the pooled cells of one filter, p*p*q*q of them; D = K*q*q windows in all.
    """

    config: Config
    K: int  # filters
    kk1: int  # k*k + 1: one row of Wb, a patch and its constant 1
    pp: int  # p*p, cells per window
    cells: int  # q*q*p*p pooled cells per filter
    D: int  # K*q*q windows, the length of F
    n_params: int  # K*k*k + K + D + 1; theta has one more entry, the constant 0
    w2: slice  # where W2 sits in theta (b2 is at n_params - 1, the 0 at n_params)
    # One example: column j of ``Xa[patch]`` is the patch of pooled cell j = window * pp + c
    # (c = cell inside the window, row-major), rows the k*k pixels then the constant 1.
    patch: np.ndarray  # (kk1, cells) index into Xa
    window_start: np.ndarray  # (D,) flat index of window (f, w)'s first cell in Z (K, cells)
    # A batch: row r = (c, f, w) of the transposed Toeplitz matrix M^T, r = (c * K + f) * qq + w,
    # column = a pixel of Xa or its 1; value = index into theta (n_params: the constant 0).
    conv_T: np.ndarray  # (pp * D, n*n + 1)
    conv: np.ndarray  # (n*n + 1, pp * D), the same table for M itself
    # For trace_batch: the same matrix for every cell of Z1, in natural (f, i, j) order.
    conv_all_T: np.ndarray  # (K*m*m, n*n + 1)
    # 1 + ROUNDING (pp - 1 - c) for cell c of each window, window by window as Z's pooled
    # cells lie: the one-example step's tie-break
    prefer: np.ndarray  # (cells,)

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in (self.patch, self.window_start, self.conv_T, self.conv,
                                      self.conv_all_T))


# Plans are kept for the configurations used most recently, up to this many bytes in all
# (the largest, 28x28 with 8 filters of 1x1, takes about 90 MB; the default network 30 kB).
# The newest plan is always kept, whatever its size.
PLAN_CACHE_BYTES = 256 * 1024 * 1024
_plans: OrderedDict[Config, Plan] = OrderedDict()
_plans_lock = threading.Lock()


def plan_for(config: Config) -> Plan:
    """The plan of ``config``, from the cache of recent ones (bounded in bytes), or built."""
    with _plans_lock:
        plan = _plans.get(config)
        if plan is not None:
            _plans.move_to_end(config)
            return plan
    plan = _build_plan(config)
    with _plans_lock:
        _plans[config] = plan
        _plans.move_to_end(config)
        while len(_plans) > 1 and plans_bytes() > PLAN_CACHE_BYTES:
            _plans.popitem(last=False)
    return plan


def plans_bytes() -> int:
    """The bytes the cached plans hold."""
    return sum(p.nbytes for p in _plans.values())


def _build_plan(config: Config) -> Plan:
    n, k, K, p = config.input_size, config.kernel_size, config.filters, config.pool_size
    m, q = config.conv_size, config.pooled_size
    kk1, pp, qq = k * k + 1, p * p, q * q
    D, zero = K * qq, config.n_params  # theta[zero] is the constant 0
    pixels = n * n  # Xa[pixels] is the constant 1

    def cell(w: int, c: int) -> tuple[int, int]:
        """(i, j) in Z1 of cell c (row-major) of pooling window w (row-major)."""
        (wi, wj), (r, s) = divmod(w, q), divmod(c, p)
        return wi * p + r, wj * p + s

    def conv_row(f: int, i: int, j: int) -> np.ndarray:
        """Row of M^T for Z1[f, i, j]: which theta entry multiplies each entry of Xa."""
        row = np.full(pixels + 1, zero, dtype=np.intp)
        for a in range(k):
            for b in range(k):
                row[(i + a) * n + (j + b)] = f * kk1 + a * k + b
        row[pixels] = f * kk1 + k * k  # the constant 1 meets b1[f]
        return row

    patch = np.empty((kk1, qq * pp), dtype=np.intp)
    for w in range(qq):
        for c in range(pp):
            i, j = cell(w, c)
            patch[: k * k, w * pp + c] = [(i + a) * n + (j + b) for a in range(k) for b in range(k)]
            patch[k * k, w * pp + c] = pixels
    conv_T = np.array([conv_row(f, *cell(w, c))
                       for c in range(pp) for f in range(K) for w in range(qq)])
    conv_all_T = np.array([conv_row(f, i, j)
                           for f in range(K) for i in range(m) for j in range(m)])
    for table in (patch, conv_T, conv_all_T):
        table.flags.writeable = False
    start = K * kk1
    conv = np.ascontiguousarray(conv_T.T)
    conv.flags.writeable = False
    prefer = np.tile(1.0 + _settle.ROUNDING * np.arange(pp - 1, -1, -1, dtype=np.float64), qq)
    prefer.flags.writeable = False
    return Plan(config, K, kk1, pp, qq * pp, D, zero, slice(start, start + D), patch,
                np.arange(D) * pp, conv_T, conv, conv_all_T, prefer)


# --------------------------------------------------------------------- flat parameters
def augment(Xf: np.ndarray) -> np.ndarray:
    """Xa (B, n*n + 1): each flattened example followed by the constant 1 that meets b1."""
    Xa = np.empty((Xf.shape[0], Xf.shape[1] + 1))
    Xa[:, :-1] = Xf
    Xa[:, -1] = 1.0
    return Xa


def pack(plan: Plan, params: dict[str, np.ndarray]) -> np.ndarray:
    """theta: the four tensors in one new vector (layout in the module docstring)."""
    K, kk1 = plan.K, plan.kk1
    theta = np.zeros(plan.n_params + 1)
    Wb = theta[: K * kk1].reshape(K, kk1)
    Wb[:, :-1] = np.reshape(params["W1"], (K, kk1 - 1))
    Wb[:, -1] = params["b1"]
    theta[plan.w2] = np.reshape(params["W2"], -1)
    theta[plan.n_params - 1] = params["b2"][0]
    return theta


def unpack(plan: Plan, theta: np.ndarray) -> dict[str, np.ndarray]:
    """The four tensors of theta, as new arrays in the shapes of :mod:`engine.config`."""
    c = plan.config
    Wb = theta[: plan.K * plan.kk1].reshape(plan.K, plan.kk1)
    return {
        "W1": Wb[:, :-1].reshape(plan.K, c.kernel_size, c.kernel_size).copy(),
        "b1": Wb[:, -1].copy(),
        "W2": theta[plan.w2][None, :].copy(),
        "b2": theta[plan.n_params - 1 : plan.n_params].copy(),
    }


# --------------------------------------------------------------------------- the network
# The one-example step measures Σ|Wb| every WSUM_EVERY steps and takes WSUM_SLACK times it
# as its bound's weight sum: the bound stays ~1e-12 of the terms' size, 10^3 above any
# summation residue, whatever 16 steps did to the weights short of multiplying them by 100.
WSUM_EVERY = 16
WSUM_SLACK = 4.0
_ONE_LESS = 1.0 - _settle.ROUNDING  # a positive maximum's floor of ties: max × this
_TINY = 5e-324  # the smallest positive float64: x <= 0 exactly when x < _TINY
CHUNK = 1024  # examples per pass of the batch path; a larger batch goes in chunks


def _loss_terms(Z2: np.ndarray, sign: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per example s, L = softplus(Z2) - Y Z2 and sigma(s), given sign = 1 - 2Y.

    With s = sign * Z2 (Z2 if Y = 0, -Z2 if Y = 1), L = softplus(s) and A2 - Y = dL/dZ2 =
    sign * sigma(s). With l = log(1 + e^-|s|), softplus(s) = max(s, 0) + l and sigma(s) =
    e^(min(s, 0) - l): nothing overflows, even at s = +-inf. The example is classified
    right (A2 > 0.5 means class 1) where s < 0 if Y = 1, and where s <= 0 if Y = 0.
    """
    s = sign * Z2
    log1p_e = np.log1p(np.exp(-np.abs(s)))  # l = log(1 + e^-|s|)
    return s, np.maximum(s, 0.0) + log1p_e, np.exp(np.minimum(s, 0.0) - log1p_e)


def _tie(sign: np.ndarray) -> np.ndarray:
    """Per example, the bound t with "classified right" = s < t (see :func:`_loss_terms`):
    0 if Y = 1, the smallest positive float if Y = 0 (s <= 0 exactly when s < _TINY)."""
    return np.where(sign > 0.0, _TINY, 0.0)  # (where, not a product: no subnormal arithmetic)


class Net:
    """The network with its parameters in one flat vector ``theta`` (layout in the module
    docstring): the batched passes, and training steps that update ``theta`` in place.

    ``W1``, ``b1``, ``W2``, ``b2`` are views of ``theta`` in the usual shapes (they change
    with every step: copy what you keep); :meth:`params` returns copies.
    """

    def __init__(self, plan: Plan, params: dict[str, np.ndarray]) -> None:
        c, K = plan.config, plan.K
        self.plan = plan
        self.theta = theta = pack(plan, params)
        self.Wb = theta[: K * plan.kk1].reshape(K, plan.kk1)
        self.W1 = self.Wb[:, :-1].reshape(K, c.kernel_size, c.kernel_size)
        self.b1 = self.Wb[:, -1]
        self.W2 = theta[plan.w2]
        self.b2 = theta[plan.n_params - 1 : plan.n_params]
        # The single-example step writes its step into these views of one buffer.
        self._step = np.zeros_like(theta)
        self._step_Wb = self._step[: K * plan.kk1].reshape(K, plan.kk1)
        self._step_W2 = self._step[plan.w2]
        self._wsum: float | np.ndarray = 0.0
        self._wsum_left = 0  # one-example steps before Σ|Wb| is measured again

    def params(self) -> dict[str, np.ndarray]:
        return unpack(self.plan, self.theta)

    def _weight_sum(self) -> float | np.ndarray:
        """WSUM_SLACK × Σ|Wb_f| (a float for one filter, else (K,)), measured every
        WSUM_EVERY one-example steps: far above a rounding residue and far below a value the
        data makes whichever way the weights moved in between (see :meth:`step_one`)."""
        if self._wsum_left <= 0:
            sums = np.abs(self.Wb).sum(axis=1) * WSUM_SLACK
            self._wsum = float(sums[0]) if self.plan.K == 1 else sums
            self._wsum_left = WSUM_EVERY
        self._wsum_left -= 1
        return self._wsum

    @staticmethod
    def scales(Xa: np.ndarray) -> np.ndarray:
        """ROUNDING × max|xa| of each example of Xa (N, n*n+1), for :meth:`step_one`."""
        return _settle.ROUNDING * np.abs(Xa).max(axis=1)

    # ------------------------------------------------------------------- batch passes
    def forward(self, Xa: np.ndarray,
                M: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward pass of a batch Xa (B, n*n+1) (see :func:`augment`); M is the Toeplitz
        matrix of the current W1 and b1, ``theta[plan.conv]``, if the caller has it.

        Returns winner (pp, D, B) bool: the first maximum of each window of Z1, and only
        where that maximum is > 0 (where a gradient passes); F (D, B) = P1 flattened, batch
        last; Z2 (B,).
        """
        plan, B = self.plan, Xa.shape[0]
        # Z1 at the pooled cells, Z = (Xa M)^T: Z[c, f*qq + w] is cell c of window w of
        # filter f, and the batch is the last, contiguous axis. (Writing the product into
        # the transpose of Z lets BLAS produce this layout directly; M^T Xa^T is 2x slower.)
        Z = np.empty((plan.pp * plan.D, B))
        np.matmul(Xa, self.theta[plan.conv] if M is None else M, out=Z.T)
        Z = Z.reshape(plan.pp, plan.D, B)
        # Each window's maximum, then its winner: the first cell tied with it up to rounding
        # (kinds._settle.tied: >= max (1 - ROUNDING)), scanned slab by slab. A window passes
        # a gradient where its maximum is > 0, a rounding residue of an exact 0 counting as
        # 0 (kinds._settle): where it is > ROUNDING max|xa| Σ|Wb_f|, a bound at least the
        # readable path's (xa ends in its 1, which meets b1).
        best = Z[0].copy()
        for c in range(1, plan.pp):
            np.maximum(best, Z[c], out=best)
        bound = (_settle.ROUNDING * np.abs(Xa).max(axis=1)) * np.abs(self.Wb).sum(axis=1)[:, None]
        open_ = np.greater(best.reshape(plan.K, -1, B), bound[:, None, :]).reshape(best.shape)
        F = best * open_
        floor = best * _ONE_LESS
        winner = np.empty(Z.shape, dtype=bool)
        for c in range(plan.pp):  # open_: the window passes, and no earlier cell has won
            np.greater_equal(Z[c], floor, out=winner[c])
            winner[c] &= open_
            open_ &= ~winner[c]
        return winner, F, self.W2.dot(F) + self.b2

    def backward(self, Xa: np.ndarray, winner: np.ndarray, F: np.ndarray,
                 dZ2: np.ndarray) -> np.ndarray:
        """The gradient of sum(dZ2 * Z2) with respect to theta (shaped like theta, 0 for
        its constant 0), from :meth:`forward`'s results. With dZ2 the loss's gradient at Z2
        it is the loss's gradient; training passes -lr times it, which makes it the step.
        """
        plan = self.plan
        dZ = winner * (self.W2[:, None] * dZ2)  # dZ1: dF = W2 dZ2 goes to the winners
        # dM^T = dZ1 Xa (one product), and each entry of M is a theta entry: bincount adds
        # up the entries of each one.
        dMT = dZ.reshape(-1, Xa.shape[0]).dot(Xa)
        g = np.bincount(plan.conv_T.ravel(), dMT.ravel(), minlength=plan.n_params + 1)
        g[plan.w2] = F.dot(dZ2)
        g[plan.n_params - 1] = np.add.reduce(dZ2)
        g[plan.n_params] = 0.0
        return g

    # ------------------------------------------------------------------ training steps
    def step_one(self, xa: np.ndarray, y: float, lr: float,
                 xscale: float | None = None) -> tuple[float, bool]:
        """One SGD step on one example xa (n*n+1,) (see :func:`augment`), y 0.0 or 1.0.
        ``xscale``: ROUNDING × max|xa| (:meth:`scales` gives it for a whole data set; missing:
        computed here).

        Returns the loss before the step and whether the example was classified right
        (A2 > 0.5 means class 1).
        """
        plan, theta, W2 = self.plan, self.theta, self.W2
        P = xa[plan.patch]  # (k*k+1, cells): the patch of each pooled cell, window by window
        Z = self.Wb.dot(P)  # (K, cells): Z1 at the pooled cells (b1 included)
        # Each window's winner: its first cell tied with the maximum up to rounding (as
        # kinds._settle.tied: the largest value after each cell's is raised by ROUNDING × its
        # lead over the window's last cell, so a residue never beats an earlier cell);
        # Fz (D,): the winner's value, the window's maximum before ReLU.
        cell = np.multiply(Z, plan.prefer).reshape(plan.D, plan.pp).argmax(1)
        cell += plan.window_start
        Fz = Z.take(cell)
        # ReLU passes the value and the gradient where Fz > 0, a rounding residue of an exact
        # 0 counting as 0 (kinds._settle): where Fz > ROUNDING max|xa| Σ|Wb_f|, a bound at
        # least the readable path's (xa ends in its 1, which meets b1).
        if xscale is None:
            xscale = _settle.ROUNDING * float(np.abs(xa).max())
        bound = xscale * self._weight_sum()
        if plan.K > 1:
            bound = np.repeat(bound, plan.D // plan.K)
        on = np.greater(Fz, bound).astype(np.float64)
        F = Fz * on
        # The scalars, in Python floats: Z2, L = softplus(Z2) - y Z2, A2 = sigma(Z2).
        z2 = float(W2.dot(F)) + theta.item(plan.n_params - 1)
        if z2 >= 0:
            e = math.exp(-z2)
            a2, softplus = 1.0 / (1.0 + e), z2 + math.log1p(e)
        else:
            e = math.exp(z2)
            a2, softplus = e / (1.0 + e), math.log1p(e)
        # Backward, scaled by -lr so that what comes out is the step itself.
        dz2 = -lr * (a2 - y)
        self._step[plan.n_params - 1] = dz2  # db2 = dZ2
        dz2_on = on * dz2  # dZ2 where ReLU passes a gradient, 0 elsewhere
        np.multiply(Fz, dz2_on, out=self._step_W2)  # dW2 = dZ2 F (F = Fz where on, else 0)
        dZ = np.zeros(Z.shape)  # dZ1: zero but at the winners, which get dF = dZ2 W2
        dZ.put(cell, W2 * dz2_on)
        np.dot(dZ, P.T, out=self._step_Wb)  # [dW1 db1] = dZ1 P^T
        theta += self._step
        return softplus - y * z2, (z2 > 0) == (y > 0.5)

    def step_batch(self, Xa: np.ndarray, Y: np.ndarray, lr: float) -> tuple[float, int]:
        """One SGD step on a batch Xa (B, n*n+1) (see :func:`augment`), Y (B,), on the
        batch's mean loss.

        Returns the batch's mean loss before the step and how many examples the old
        parameters classified right.
        """
        sign = 1.0 - 2.0 * Y
        return self._step_batch(Xa, None, sign, sign * (-lr / len(Y)), _tie(sign))

    def _step_batch(self, Xa: np.ndarray, rows: np.ndarray | None, sign: np.ndarray,
                    coef: np.ndarray, tie: np.ndarray) -> tuple[float, int]:
        """:meth:`step_batch` on the examples Xa[rows] (all of Xa if rows is None), given
        their sign = 1 - 2Y, coef = -lr/B * sign and tie = :func:`_tie` (sign).

        The batch goes through in chunks of at most CHUNK examples whose gradients add up to
        the batch's: the same step, with temporaries that stay small and in cache (a batch
        of 4096 in one piece trains ~2x slower, mostly page faults on its big temporaries).
        """
        B, M = len(sign), self.theta[self.plan.conv]
        loss, right = 0.0, 0
        for start in range(0, B, CHUNK):
            stop = start + CHUNK
            X = Xa[start:stop] if rows is None else Xa.take(rows[start:stop], axis=0)
            winner, F, Z2 = self.forward(X, M)
            s, L, sigma = _loss_terms(Z2, sign[start:stop])
            g = self.backward(X, winner, F, coef[start:stop] * sigma)  # -lr/B (A2 - Y) ...
            if start == 0:
                step = g
            else:
                step += g
            loss += float(np.add.reduce(L))
            right += int(np.count_nonzero(s < tie[start:stop]))
        self.theta += step
        return loss / B, right

    def epoch(self, Xa: np.ndarray, Y: np.ndarray, order: np.ndarray, batch_size: int,
              lr: float) -> tuple[float, int, int]:
        """One pass of mini-batch SGD over Xa (N, n*n+1) (see :func:`augment`), Y (N,),
        visiting the examples in ``order``; the last batch may be smaller.

        Returns the sum over batches of the batch's mean loss, how many examples were
        classified right (each by the parameters its batch met) and the number of batches.
        """
        N = Xa.shape[0]
        total, right = 0.0, 0
        if batch_size == 1:
            scales = self.scales(Xa)
            for i, y in zip(order.tolist(), Y[order].tolist()):
                loss, ok = self.step_one(Xa[i], y, lr, scales.item(i))
                total, right = total + loss, right + ok
            return total, right, N
        # The labels of the whole epoch at once, in its order (cheap: one number per
        # example). The examples are gathered chunk by chunk (see _step_batch): a small copy
        # stays in cache for the products that read it, a permuted data set does not.
        Ye = Y[order]
        sign = 1.0 - 2.0 * Ye
        coef, tie = sign * (-lr / batch_size), _tie(sign)
        batches = 0
        for start in range(0, N, batch_size):
            stop = min(start + batch_size, N)
            if stop - start == 1:  # a last batch of one example: the scalar step
                loss, ok = self.step_one(Xa[order[start]], float(Ye[start]), lr)
            else:
                batch_coef = (coef[start:stop] if stop - start == batch_size
                              else sign[start:stop] * (-lr / (stop - start)))  # a smaller last
                loss, ok = self._step_batch(Xa, order[start:stop], sign[start:stop],
                                            batch_coef, tie[start:stop])
            total, right, batches = total + loss, right + ok, batches + 1
        return total, right, batches


# --------------------------------------------------------------------- public functions
def grad_step(plan: Plan, Xf: np.ndarray, Y: np.ndarray, params: dict[str, np.ndarray],
              lr: float) -> tuple[dict[str, np.ndarray], float, int]:
    """One SGD step on a batch. Xf (B, n*n), Y (B,).

    Returns the new params, the batch's mean loss before the step and how many of the batch
    the old params classified correctly (A2 > 0.5 means class 1).
    """
    net = Net(plan, params)
    if Xf.shape[0] == 1:
        loss, right = net.step_one(augment(Xf)[0], float(Y[0]), lr)
    else:
        loss, right = net.step_batch(augment(Xf), np.asarray(Y, dtype=np.float64), lr)
    return net.params(), loss, int(right)


def predict(plan: Plan, Xf: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """A2 (B,) for a batch Xf (B, n*n)."""
    *_, Z2 = Net(plan, params).forward(augment(Xf))
    return np.exp(-np.logaddexp(0.0, -Z2))  # sigma(Z2) = e^-softplus(-Z2): never overflows


def trace_batch(X: np.ndarray, Y: np.ndarray, params: dict[str, np.ndarray],
                config: Config) -> dict[str, np.ndarray]:
    """Every tensor and gradient for a batch, batch axis first, in the readable layout.

    The gradients are those of the batch's mean loss; L is that mean (a scalar). dW1, db1,
    dW2 and db2 come from the training step's own backward pass; the tensors the training
    step never forms (Z1 and A1 outside the windows, dA1, dX) are computed here.
    """
    plan = plan_for(config)
    B, K, m, p, q = X.shape[0], config.filters, config.conv_size, config.pool_size, \
        config.pooled_size
    Y = np.asarray(Y, dtype=np.float64)
    net = Net(plan, params)
    Xa = augment(X.reshape(B, -1))
    winner, F, Z2 = net.forward(Xa)
    sign = 1.0 - 2.0 * Y
    _, L, sigma = _loss_terms(Z2, sign)
    dZ2 = sign * sigma / B  # (A2 - Y) / B
    grads = unpack(plan, net.backward(Xa, winner, F, dZ2))
    W2 = params["W2"]

    # Z1 and A1 at every cell, and the pooling windows of A1 (K, q, q, p*p) per example.
    MT = net.theta[plan.conv_all_T]  # (K*m*m, n*n+1)
    Z1 = (Xa @ MT.T).reshape(B, K, m, m)
    bound = _settle.limit(np.abs(Xa[:, :-1]).max(axis=1), params["W1"], params["b1"])
    _settle.settle(Z1, bound[:, :, None, None])
    A1 = np.maximum(Z1, 0.0)
    windows = (A1[:, :, : q * p, : q * p].reshape(B, K, q, p, q, p)
               .transpose(0, 1, 2, 4, 3, 5).reshape(B, K, q, q, p * p))
    # Max-pool sends dP1 to the first maximum of each window of A1 (even where that maximum
    # is 0 and ReLU then blocks it), nothing to the other cells or the dropped remainder.
    dF = dZ2[:, None] * W2  # (B, D)
    first = _settle.tied(windows, windows.max(-1, keepdims=True)).argmax(-1)
    routed = (first[..., None] == np.arange(p * p)) * dF.reshape(B, K, q, q, 1)
    dA1 = np.zeros((B, K, m, m))
    dA1[:, :, : q * p, : q * p] = (routed.reshape(B, K, q, q, p, p)
                                   .transpose(0, 1, 2, 4, 3, 5).reshape(B, K, q * p, q * p))
    dZ1 = dA1 * (Z1 > 0)
    dX = dZ1.reshape(B, -1) @ MT[:, :-1]  # the conv's input gradient: dZ1 M^T, without the 1

    return {
        "X": X, "W1": params["W1"], "b1": params["b1"], "Z1": Z1, "A1": A1,
        "P1": F.T.reshape(B, K, q, q), "F": F.T.copy(), "W2": W2, "b2": params["b2"],
        "Z2": Z2, "A2": np.exp(-np.logaddexp(0.0, -Z2)), "L": np.asarray(L.sum() / B), "Y": Y,
        "dZ2": dZ2, "dW2": grads["W2"], "db2": grads["b2"], "dF": dF,
        "dP1": dF.reshape(B, K, q, q), "dA1": dA1, "dZ1": dZ1, "dW1": grads["W1"],
        "db1": grads["b1"], "dX": dX.reshape(X.shape),
    }
