"""Exact activation patching that recomputes only what a patch can change (TL-native models).

A patch at layer l, position p cannot change anything before layer l, nor (causal attention) any
position before p: there the patched run *is* the corrupted run. :class:`SuffixPatcher` runs the
corrupted prompts once and keeps their residual stream, queries, keys, values and head outputs (z);
then it computes each patch from its layer on, over positions p.. only, attending to the kept keys and
values of the earlier positions. While a patch has changed one position only (a residual patch at p,
or a head output at p after its layer's output projection), the next layer's queries, keys and values
change at p only, and the others are the kept ones. Every patch is computed: the metric gets each
patched run's full logits (the kept corrupted ones before p); none is skipped or assumed.
Many patches share one forward: copy k of the corrupted batch gets patch k.

It reimplements the forward of the TL-native model ``TransformerBridge.boot_native`` builds, calling
that model's own modules (norms, linear maps, MLPs) and redoing only the attention. :func:`supports`
says which configurations that covers; :meth:`SuffixPatcher.build` also checks the corrupted run's
logits against the model's own forward and returns ``None`` when they disagree (use hooks then).

    patcher = SuffixPatcher.build(model, corrupt)           # None: use hooks (mi_prep.lab.patching)
    values = patcher.run(clean_cache, patches, metric)      # [K, n]: patch k, prompt pair i
"""

from __future__ import annotations

import math
from typing import Any

HOOKS = ("hook_resid_pre", "attn.hook_z")
"""The hook points (``blocks.{l}.<hook>``) this module patches."""

GROUP_ROWS = 128
"""Single-position patches at nearby positions share a forward until it has this many rows."""


def supports(model) -> bool:
    """Is ``model`` a TL-native bridge this module can run: learned absolute positions, causal
    multi-head attention (no grouped keys), no soft caps?"""
    native = getattr(model, "original_model", None)
    layers = getattr(native, "layers", None)
    if native is None or layers is None or getattr(native, "pos", None) is None:
        return False
    if float(getattr(native, "output_logits_soft_cap", 0.0)) > 0:
        return False
    for block in layers:
        a = _unwrap(getattr(block, "attn", None))
        if a is None or not all(hasattr(a, k) for k in ("q", "k", "v", "o", "scale", "causal_mask")):
            return False
        if not a.causal or a.kv_repeats != 1 or a.rotary is not None or float(a.attn_scores_soft_cap) > 0:
            return False
    return True


def split_name(name: str) -> tuple[int, str] | None:
    """``"blocks.3.attn.hook_z"`` -> ``(3, "attn.hook_z")``; ``None`` for hooks this module does not patch."""
    parts = name.split(".", 2)
    if len(parts) != 3 or parts[0] != "blocks" or not parts[1].isdigit() or parts[2] not in HOOKS:
        return None
    return int(parts[1]), parts[2]


def first_position(index: tuple, T: int) -> int:
    """The first sequence position ``index`` (after the batch dim) touches; 0 when that is not simple."""
    pos = index[0] if index else None
    if isinstance(pos, int) and -T <= pos < T:
        return pos % T
    if isinstance(pos, slice):
        start, stop, step = pos.indices(T)
        return start if step > 0 and start < stop else 0
    return 0


def shift(index: tuple, s: int, T: int) -> tuple:
    """``index`` in the coordinates of the suffix that starts at :func:`first_position` ``s``."""
    if s == 0:
        return index
    pos = index[0]
    if isinstance(pos, int):
        return (pos % T - s, *index[1:])
    start, stop, step = pos.indices(T)
    return (slice(start - s, stop - s, step), *index[1:])


def _unwrap(module):
    """The plain torch module inside a bridge component (the component itself runs hooks around it)."""
    while hasattr(module, "_original_component"):
        module = module._original_component
    return module


def _rep(t, reps: int):
    """``reps`` copies of ``t`` along the batch dim (copy k = rows ``k*n .. (k+1)*n``)."""
    return t.repeat(reps, *([1] * (t.dim() - 1)))


class _Block:
    """One TL-native block's pieces, unwrapped: q, k and v as one linear map, the MLP still wrapped."""

    def __init__(self, block) -> None:
        import torch

        attn = _unwrap(block.attn)
        q, k, v = (_unwrap(getattr(attn, name)) for name in ("q", "k", "v"))
        weight = torch.cat([q.weight, k.weight, v.weight]).detach()
        bias = torch.cat([q.bias, k.bias, v.bias]).detach()
        self.qkv_map = lambda h: torch.nn.functional.linear(h, weight, bias)
        self.ln1, self.o = _unwrap(block.ln1), _unwrap(attn.o)
        self.H, self.dh, self.scale, self.mask = attn.n_heads, attn.d_head, attn.scale, attn.causal_mask
        self.mlp = getattr(block, "mlp", None)
        self.ln2 = _unwrap(block.ln2) if self.mlp is not None else None

    def qkv(self, x):
        """Queries, keys, values ``[R, H, S, dh]`` of the residual ``x`` ``[R, S, d]``."""
        R, S, _ = x.shape
        return self.qkv_map(self.ln1(x)).view(R, S, 3, self.H, self.dh).permute(2, 0, 3, 1, 4)

    def finish(self, x, z):
        """The residual after the block, from its input ``x`` ``[..., d]`` and head outputs ``z`` ``[..., H, dh]``."""
        x = x + self.o(z.flatten(-2))
        return x if self.mlp is None else x + self.mlp(self.ln2(x))


class SuffixPatcher:
    """The corrupted run's state, and :meth:`run`: many patches, each from its layer and position on."""

    def __init__(self, model, corrupt) -> None:
        import torch

        native = model.original_model
        self.n, self.T = corrupt.shape
        self.ln_out, self.head = _unwrap(native.ln_out), _unwrap(native.head)
        self.blocks = [_Block(block) for block in native.layers]
        self.L = len(self.blocks)
        mask = self.blocks[0].mask[: self.T, : self.T]
        self.bias = torch.zeros(mask.shape, device=corrupt.device).masked_fill(mask, -math.inf)
        self.resid: list[Any] = []  # [n, T, d]: resid_pre of each layer, then the final residual
        self.q: list[Any] = []  # [n, H, T, dh] per layer, and k, v
        self.k: list[Any] = []
        self.v: list[Any] = []
        self.z: list[Any] = []  # [n, T, H, dh] per layer
        with torch.no_grad():
            x = _unwrap(native.tok_embed)(corrupt) + _unwrap(native.pos)(torch.arange(self.T, device=corrupt.device))
            for l, block in enumerate(self.blocks):
                self.resid.append(x)
                q, k, v = block.qkv(x)
                z = self._attention(l, q, k, v, 0)
                for kept, t in ((self.q, q), (self.k, k), (self.v, v), (self.z, z)):
                    kept.append(t)
                x = block.finish(x, z)
            self.resid.append(x)
            self.logits = self.head(self.ln_out(x))

    @classmethod
    def build(cls, model, corrupt, atol: float = 1e-4) -> SuffixPatcher | None:
        """A patcher for ``model`` on the corrupted tokens, or ``None`` if the model is not one this module
        reimplements (:func:`supports`) or its corrupted logits differ from ``model(corrupt)`` by > ``atol``."""
        import torch

        if not supports(model):
            return None
        patcher = cls(model, corrupt)
        with torch.no_grad():
            ref = model(corrupt)
        if ref.shape != patcher.logits.shape or float((ref - patcher.logits).abs().max()) > atol:
            return None
        return patcher

    # ------------------------------------------------------------------ the forward, from (layer, position)

    def _attention(self, l: int, q, k, v, s: int):
        """Head outputs ``[R, S, H, dh]`` of queries ``q`` ``[R, H, S, dh]`` at positions ``s..T-1`` over the
        keys and values ``[R, H, T, dh]`` of every position (causal: ``self.bias`` is -inf above the diagonal)."""
        import torch

        R, H, S, dh = q.shape
        flat = (-1, self.T, dh)
        scores = torch.baddbmm(
            self.bias[s:], q.reshape(-1, S, dh), k.reshape(flat).transpose(1, 2), alpha=1 / self.blocks[l].scale
        )
        return torch.bmm(torch.softmax(scores, dim=-1), v.reshape(flat)).view(R, H, S, dh).transpose(1, 2)

    def _full(self, l: int, s: int, x):
        """Logits ``[R, T - s, vocab]`` from layer ``l``'s input ``x`` ``[R, T - s, d]`` at positions ``s..``;
        the corrupted run's keys and values before ``s``."""
        import torch

        reps = x.shape[0] // self.n
        for l2 in range(l, self.L):
            q, k, v = self.blocks[l2].qkv(x)
            if s:
                k = torch.cat([_rep(self.k[l2][:, :, :s], reps), k], 2)
                v = torch.cat([_rep(self.v[l2][:, :, :s], reps), v], 2)
            x = self.blocks[l2].finish(x, self._attention(l2, q, k, v, s))
        return self.head(self.ln_out(x))

    def _single(self, l: int, pos, xs):
        """Logits ``[R, T - s, vocab]`` (``s = min(pos)``) when layer ``l``'s input is the corrupted run's
        except at one position per row, ``pos`` ``[R]``, where it is ``xs`` ``[R, d]``."""
        import torch

        s, R = int(pos.min()), xs.shape[0]
        reps, rows, at = R // self.n, torch.arange(R, device=xs.device), pos - s
        if l == self.L:
            logits = _rep(self.logits[:, s:], reps)
            logits[rows, at] = self.head(self.ln_out(xs))
            return logits
        q1, k1, v1 = (t[:, :, 0] for t in self.blocks[l].qkv(xs[:, None]))
        q, k, v = _rep(self.q[l][:, :, s:], reps), _rep(self.k[l], reps), _rep(self.v[l], reps)
        q[rows, :, at], k[rows, :, pos], v[rows, :, pos] = q1, k1, v1
        x = _rep(self.resid[l][:, s:], reps)
        x[rows, at] = xs
        x = self.blocks[l].finish(x, self._attention(l, q, k, v, s))
        return self._full(l + 1, s, x)

    # ------------------------------------------------------------------ patches

    def run(self, clean_acts: dict[str, Any], patches: list[tuple[str, Any]], metric, max_batch: int = 1024):
        """``[K, n]``: ``metric.per_example`` of the full logits with patch ``k = (hook_name, index)`` applied
        (``index`` indexes the activation after the batch dim, as in :func:`mi_prep.lab.patching.batched_patch`).
        Every hook name must be one :func:`split_name` parses."""
        import torch

        n, T = self.n, self.T
        singles: dict[int, list[tuple[int, int, Any]]] = {}  # layer -> (patch, position, its residual [n, d])
        z_at: dict[int, list[tuple[int, int, Any]]] = {}  # layer -> (patch, position, its z [n, H, dh])
        whole: dict[tuple[int, int, str], list[int]] = {}  # (layer, first position, hook) -> patches
        for k, (name, index) in enumerate(patches):
            where = split_name(name)
            if where is None:
                raise ValueError(f"{name}: not a hook this patcher patches ({', '.join(HOOKS)})")
            l, hook = where
            idx = index if isinstance(index, tuple) else (index,)
            if idx and isinstance(idx[0], int) and -T <= idx[0] < T:  # one position: patch it there only
                p, rest = idx[0] % T, (slice(None), *idx[1:])
                a = (self.resid[l] if hook == "hook_resid_pre" else self.z[l])[:, p].clone()
                a[rest] = clean_acts[name][:, p][rest]
                (singles if hook == "hook_resid_pre" else z_at).setdefault(l, []).append((k, p, a))
            else:
                whole.setdefault((l, first_position(idx, T), hook), []).append(k)
        values = torch.empty(len(patches), n)
        per = max(1, max_batch // n)

        def score(chunk, logits, s):
            if s:
                logits = torch.cat([_rep(self.logits[:, :s], len(chunk)), logits], 1)
            values[chunk] = metric.per_example(logits).reshape(len(chunk), n).cpu()

        with torch.no_grad():
            for l, items in z_at.items():  # the head output at p only moves the residual after layer l at p
                x = self.resid[l][:, [p for _, p, _ in items]].transpose(0, 1)
                x = self.blocks[l].finish(x, torch.stack([a for _, _, a in items]))
                singles.setdefault(l + 1, []).extend((k, p, xs) for (k, p, _), xs in zip(items, x))
            for l, items in sorted(singles.items()):
                items.sort(key=lambda item: -item[1])
                for chunk_items in _chunks(items, per, max(1, GROUP_ROWS // n)):
                    chunk = [k for k, _, _ in chunk_items]
                    pos = torch.tensor([p for _, p, _ in chunk_items], device=self.logits.device).repeat_interleave(n)
                    logits = self._single(l, pos, torch.cat([xs for _, _, xs in chunk_items]))
                    score(chunk, logits, int(pos.min()))
            for (l, s, hook), ks in sorted(whole.items()):
                for start in range(0, len(ks), per):
                    chunk = ks[start : start + per]
                    if hook == "hook_resid_pre":
                        logits = self._full(l, s, self._patched(self.resid[l], s, clean_acts, patches, chunk))
                    else:
                        z = self._patched(self.z[l], s, clean_acts, patches, chunk)
                        x = self.blocks[l].finish(_rep(self.resid[l][:, s:], len(chunk)), z)
                        logits = self._full(l + 1, s, x)
                    score(chunk, logits, s)
        return values

    def _patched(self, corrupted, s: int, clean_acts, patches, chunk: list[int]):
        """``[len(chunk) * n, T - s, ...]``: the corrupted activation from position ``s`` on, copy k patched
        with patch ``chunk[k]``'s clean values."""
        out = _rep(corrupted[:, s:], len(chunk))
        view = out.view(len(chunk), self.n, *out.shape[1:])
        for j, k in enumerate(chunk):
            name, index = patches[k]
            idx = index if isinstance(index, tuple) else (index,)
            view[(j, slice(None), *shift(idx, s, self.T))] = clean_acts[name][(slice(None), *idx)]
        return out


def _chunks(items: list[tuple[int, int, Any]], most: int, enough: int) -> list[list[tuple[int, int, Any]]]:
    """``(patch, position, ...)`` items, sorted by position, in consecutive runs of at most ``most``; a run
    takes in the next position's items only while it has fewer than ``enough`` (a run is computed from
    its smallest position on, so mixing positions costs work and saves forwards)."""
    runs: list[list[tuple[int, int, Any]]] = [[]]
    for item in items:
        run = runs[-1]
        if len(run) == most or (len(run) >= enough and item[1] != run[-1][1]):
            runs.append(run := [])
        run.append(item)
    return runs
