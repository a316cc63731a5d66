"""Compiled (numba) kernels of the feed-forward log-domain compressor.

One forward pass and one reverse-time backward pass per batch item, fused: detector, static
curve, branching ballistics and gain, so that the audio is read once per direction.

The kernels are single-threaded on purpose: threading over the batch saved only ~15 % at batch 8
on two cores, and numba's OpenMP layer terminates DataLoader workers forked after the parent
used it, while its fork-safe "workqueue" layer was slower than no threads at all.

Notation (per batch item, sample ``n``): ``x_G`` level in dB, ``d = x_G − T``, ``x_L`` gain
reduction of the static curve, ``y_L`` smoothed gain reduction, ``α[n]`` the attack or release
coefficient chosen at ``n``. The forward pass stores ``d`` (or :data:`BELOW_KNEE` where the level
is under the knee, so that no logarithm is taken there), ``y_L`` and the gain, so that the
backward pass needs no transcendental function.
"""

from __future__ import annotations

import math

from numba import njit

LN10_OVER_20 = math.log(10.0) / 20.0
#: Marker stored for ``d`` where the level is below the knee (the static curve is flat there).
BELOW_KNEE = -1e30


@njit(inline="always", cache=True)
def _static_gain_reduction(d, slope, knee):
    """``x_L`` for ``d = x_G − T``; ``slope = 1 − 1/R``; the knee branch only when ``knee > 0``."""
    if 2.0 * d > knee:
        return d * slope
    if 2.0 * d < -knee or knee <= 0.0:
        return 0.0
    u = d + 0.5 * knee
    return slope * u * u / (2.0 * knee)


@njit(cache=True)
def compressor_forward(x, threshold, ratio, knee, makeup, alpha_attack, alpha_release, floor,
                       y, d_saved, y_l, gain_saved, attack):
    """Fill ``y`` (B, C, T) and the saved state ``d_saved``, ``y_l``, ``gain_saved``,
    ``attack`` (each (B, T))."""
    batch, channels, length = x.shape
    for b in range(batch):
        slope = 1.0 - 1.0 / ratio[b]
        w = knee[b]
        # levels below this amplitude are under the knee: x_L = 0 without a logarithm
        knee_floor = max(floor, 10.0 ** ((threshold[b] - 0.5 * w) / 20.0))
        prev = 0.0
        for n in range(length):
            peak = floor
            for c in range(channels):
                v = abs(x[b, c, n])
                if v > peak:
                    peak = v
            if peak > knee_floor:
                d = 20.0 * math.log10(peak) - threshold[b]
                x_l = _static_gain_reduction(d, slope, w)
            else:
                d = BELOW_KNEE
                x_l = 0.0
            d_saved[b, n] = d
            if x_l > prev:
                a = alpha_attack[b]
                attack[b, n] = True
            else:
                a = alpha_release[b]
                attack[b, n] = False
            prev = a * prev + (1.0 - a) * x_l
            y_l[b, n] = prev
            gain = math.exp(LN10_OVER_20 * (makeup[b] - prev))
            gain_saved[b, n] = gain
            for c in range(channels):
                y[b, c, n] = x[b, c, n] * gain


@njit(cache=True)
def compressor_backward(grad_y, x, ratio, knee, alpha_attack, alpha_release, d_saved, y_l,
                        gain_saved, attack, grad_x, grad_params):
    """Reverse-time adjoint of :func:`compressor_forward`.

    Fills ``grad_x`` (B, C, T) and ``grad_params`` (B, 6) = d/d(threshold, ratio, knee, makeup,
    alpha_attack, alpha_release). With the attack/release choices fixed, the smoother's adjoint is
    the same time-varying one-pole run backwards: ``λ[n] = g[n] + α[n+1]·λ[n+1]``,
    ``dL/dx_L[n] = (1 − α[n])·λ[n]``, ``dL/dα[n] = λ[n]·(y_L[n−1] − x_L[n])``.
    """
    batch, channels, length = x.shape
    for b in range(batch):
        r = ratio[b]
        slope = 1.0 - 1.0 / r
        w = knee[b]
        carry = 0.0  # α[n+1]·λ[n+1]
        g_thr = 0.0
        g_ratio = 0.0
        g_knee = 0.0
        g_makeup = 0.0
        g_att = 0.0
        g_rel = 0.0
        for n in range(length - 1, -1, -1):
            gain = gain_saved[b, n]
            dl_dgain = 0.0
            for c in range(channels):
                g = grad_y[b, c, n]
                dl_dgain += g * x[b, c, n]
                grad_x[b, c, n] = g * gain
            dl_dlog_gain = dl_dgain * gain * LN10_OVER_20
            g_makeup += dl_dlog_gain
            lam = -dl_dlog_gain + carry
            is_attack = attack[b, n]
            a = alpha_attack[b] if is_attack else alpha_release[b]
            prev = y_l[b, n - 1] if n > 0 else 0.0
            d = d_saved[b, n]
            x_l = _static_gain_reduction(d, slope, w)
            g_alpha = lam * (prev - x_l)
            if is_attack:
                g_att += g_alpha
            else:
                g_rel += g_alpha
            g_xl = (1.0 - a) * lam
            carry = a * lam
            # static curve
            if 2.0 * d > w:
                g_d = g_xl * slope
                g_ratio += g_xl * d / (r * r)
            elif 2.0 * d < -w or w <= 0.0:
                continue
            else:
                u = d + 0.5 * w
                g_d = g_xl * slope * u / w
                g_ratio += g_xl * u * u / (2.0 * w * r * r)
                g_knee += g_xl * slope * (u / (2.0 * w) - u * u / (2.0 * w * w))
            g_thr -= g_d
            # d = 20·log10(max_c |x_c|) − T: the gradient goes to the loudest channel
            arg = 0
            peak = abs(x[b, 0, n])
            for c in range(1, channels):
                v = abs(x[b, c, n])
                if v > peak:
                    peak = v
                    arg = c
            sign = 1.0 if x[b, arg, n] > 0 else -1.0
            grad_x[b, arg, n] += g_d * sign / (LN10_OVER_20 * peak)
        grad_params[b, 0] = g_thr
        grad_params[b, 1] = g_ratio
        grad_params[b, 2] = g_knee
        grad_params[b, 3] = g_makeup
        grad_params[b, 4] = g_att
        grad_params[b, 5] = g_rel

