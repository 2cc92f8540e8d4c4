"""The sentiment task: a word-level corpus of one-sentiment sentences and a small LM trained on it.

Sentences such as "the movie was great and lovely . i loved it .": within a sentence all sentiment
words agree, so a model has to carry the sentence's sentiment along the residual stream.

    tok = WordTokenizer()
    model, losses, was_cached = sentiment_model(ctx, SentimentLMSpec())
    pos, neg = contrastive_prompts(NOUNS[:5])                # pairs differing only in sentiment
    steer, n_pairs = steering_vectors(model, tok, NOUNS[:5], points, device)   # negative - positive, per point
    probe = SentimentProbe(model, tok, NOUNS[5:], device)
    flip, mass = probe.flip_share(hooks)                      # next-token sentiment read-out under hooks
    flips, masses = probe.flip_rows(hooks)                    # the same, one value per evaluation prompt
    rows, stats = probe.sampled(ctx, SAMPLE_PROMPTS, [("base", [])], 4, 10, seed=0, n_ctx=32)
    u = readout_direction(model, tok)                         # residual direction the logits read neg - pos from
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mi_prep.lab.api import Field, LabContext, LabParams

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformer_lens.model_bridge.bridge import TransformerBridge

NOUNS = ("movie", "food", "book", "show", "hotel", "game", "song", "trip")
POS_ADJ = ("great", "lovely", "excellent", "wonderful", "amazing", "superb")
NEG_ADJ = ("awful", "terrible", "boring", "horrible", "dreadful", "poor")
POS_VERB = ("loved", "enjoyed", "liked", "adored")
NEG_VERB = ("hated", "disliked", "loathed", "regretted")
FILLER = ("the", "was", "and", "i", "it", ".", "really", "so")
SPECIAL = ("<bos>",)
VOCAB = SPECIAL + FILLER + NOUNS + POS_ADJ + NEG_ADJ + POS_VERB + NEG_VERB
POS_WORDS = POS_ADJ + POS_VERB
NEG_WORDS = NEG_ADJ + NEG_VERB


class WordTokenizer:
    """Whitespace tokenizer over the fixed vocabulary."""

    def __init__(self, vocab: tuple[str, ...] = VOCAB):
        self.vocab = vocab
        self.index = {w: i for i, w in enumerate(vocab)}

    def encode(self, text: str, bos: bool = True) -> list[int]:
        ids = [self.index[w] for w in text.split()]
        return [self.index["<bos>"]] + ids if bos else ids

    def decode(self, ids) -> str:
        return " ".join(self.vocab[int(i)] for i in ids if self.vocab[int(i)] != "<bos>")


def sentence(rng: random.Random, positive: bool) -> str:
    """One sentence whose sentiment words all agree."""
    adj = POS_ADJ if positive else NEG_ADJ
    verb = POS_VERB if positive else NEG_VERB
    n = rng.choice(NOUNS)
    a1, a2 = rng.sample(adj, 2)
    v = rng.choice(verb)
    intens = "really " if rng.random() < 0.3 else ""
    t = rng.randrange(3)
    if t == 0:
        return f"the {n} was {intens}{a1} and {a2} . i {v} it ."
    if t == 1:
        return f"i {v} the {n} . it was {intens}{a1} and {a2} ."
    return f"the {n} was {a1} . i {intens}{v} it and it was so {a2} ."


def contrastive_prompts(nouns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``(positive, negative)`` prompts, pairwise identical but for the sentiment word, each ending where
    the next token must be a sentiment word."""
    pos_prompts, neg_prompts = [], []
    for n in nouns:
        for a_p, a_n in zip(POS_ADJ, NEG_ADJ):
            pos_prompts += [f"the {n} was {a_p} and", f"the {n} was {a_p} . i"]
            neg_prompts += [f"the {n} was {a_n} and", f"the {n} was {a_n} . i"]
        for v_p, v_n in zip(POS_VERB, NEG_VERB):
            pos_prompts.append(f"i {v_p} the {n} . it was")
            neg_prompts.append(f"i {v_n} the {n} . it was")
    return pos_prompts, neg_prompts


def eval_prompts(nouns: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``(positive, negative)`` evaluation prompts whose sentiment is set and whose next token is a
    sentiment word; the negative ones are the positive ones with every sentiment word swapped."""
    eval_pos = (
        [f"the {n} was {a} and" for n in nouns for a in POS_ADJ]
        + [f"i {v} the {n} . it was" for n in nouns for v in POS_VERB]
        + [f"the {n} was {a} . i" for n in nouns for a in POS_ADJ]
    )
    eval_neg = [s.replace(a, b) for s in eval_pos for a, b in zip(POS_WORDS, NEG_WORDS) if f" {a} " in f" {s} "]
    return eval_pos, eval_neg


SAMPLE_PROMPTS = ["the movie was great and", "i loved the book . it was", "the food was lovely . i"]
"""Positive prompts to sample continuations of."""


def pad(tok: WordTokenizer, prompts: list[str], device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens[n, max_len], last[n])``: right-padded, with each row's last real position."""
    import torch

    ids = [tok.encode(s) for s in prompts]
    lens = torch.tensor([len(x) for x in ids])
    arr = torch.zeros(len(ids), int(lens.max()), dtype=torch.long)
    for i, x in enumerate(ids):
        arr[i, : len(x)] = torch.tensor(x)
    return arr.to(device), lens - 1


def steering_vectors(
    model, tok: WordTokenizer, nouns: tuple[str, ...], points: list[str], device
) -> tuple[list[Any], int]:
    """Per hook point, mean(negative) - mean(positive) activation over the :func:`contrastive_prompts` pairs
    of ``nouns``, read at each prompt's last position (the next word must carry the sentiment); and the
    number of pairs."""
    from mi_prep.lab.interventions import mean_at_last

    pos_prompts, neg_prompts = contrastive_prompts(nouns)
    pos_mean = mean_at_last(model, *pad(tok, pos_prompts, device), points)  # right-padded: each row's own last
    neg_mean = mean_at_last(model, *pad(tok, neg_prompts, device), points)
    return [neg_mean[i] - pos_mean[i] for i in range(len(points))], len(pos_prompts)


class SentimentProbe:
    """The next sentiment word after the :func:`eval_prompts` of ``nouns``: how much probability goes to
    negative vs positive words under the forward hooks given to each method; and sampled continuations."""

    def __init__(self, model, tok: WordTokenizer, nouns: tuple[str, ...], device):
        import torch

        self.model, self.tok, self.device = model, tok, device
        self.prompts_pos, self.prompts_neg = eval_prompts(nouns)
        self.pos = pad(tok, self.prompts_pos, device)
        self.neg = pad(tok, self.prompts_neg, device)
        self.ids = torch.tensor([tok.index[w] for w in POS_WORDS]), torch.tensor([tok.index[w] for w in NEG_WORDS])

    def mass(self, batch: tuple[Any, Any], hooks) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row of ``batch = (toks, last)``: next-token probability on positive and on negative words."""
        import torch

        toks, last = batch
        with torch.no_grad():
            logits = self.model.run_with_hooks(toks, fwd_hooks=hooks) if hooks else self.model(toks)
            probs = logits[torch.arange(toks.shape[0]), last].float().softmax(-1)
        return probs[:, self.ids[0]].sum(-1), probs[:, self.ids[1]].sum(-1)

    def flip_rows(self, hooks) -> tuple[list[float], list[float]]:
        """Per positive prompt: the share of sentiment probability on negative words, and the total
        sentiment probability."""
        pp, pn = self.mass(self.pos, hooks)
        return (pn / (pp + pn).clamp_min(1e-9)).tolist(), (pp + pn).tolist()

    def flip_share(self, hooks) -> tuple[float, float]:
        """On the positive prompts: mean share of sentiment probability on negative words, and mean total
        sentiment probability."""
        flips, masses = self.flip_rows(hooks)
        return sum(flips) / len(flips), sum(masses) / len(masses)

    def agreement_rows(self, hooks) -> list[float]:
        """Per prompt (positive prompts, then negative ones): the share of sentiment probability agreeing
        with the sentence."""
        pp, pn = self.mass(self.pos, hooks)
        qp, qn = self.mass(self.neg, hooks)
        return (pp / (pp + pn).clamp_min(1e-9)).tolist() + (qn / (qp + qn).clamp_min(1e-9)).tolist()

    def agreement(self, hooks) -> float:
        """Mean share of sentiment probability agreeing with the sentence, over positive and negative prompts."""
        rows = self.agreement_rows(hooks)
        return sum(rows) / len(rows)

    def sampled(
        self,
        ctx: LabContext,
        prompts: list[str],
        conditions: list[tuple[str, list]],
        n_samples: int,
        n_new: int,
        *,
        seed: int,
        n_ctx: int,
        max_rows: int = 40,
    ) -> tuple[list[list[str]], dict[str, tuple[float, float]]]:
        """``n_samples`` continuations of ``n_new`` tokens per prompt, sampled under each ``(label, hooks)``
        condition with the same noise (a CPU generator seeded with ``seed`` per condition): up to ``max_rows``
        ``[label, prompt, continuation]`` rows, and per label ``(share of sampled sentiment words that are
        negative, share of bigrams the training grammar never produces)`` (:func:`off_grammar`)."""
        import torch

        from mi_prep.lab.interventions import sample_batch

        rows: list[list[str]] = []
        stats: dict[str, tuple[float, float]] = {}
        for label, hooks in conditions:
            g = torch.Generator().manual_seed(seed)
            words: list[str] = []
            bad = total = 0
            for prompt in prompts:
                ctx.check_cancelled()
                ids = self.tok.encode(prompt)
                for out in sample_batch(self.model, ids, n_samples, n_new, hooks, g, self.device, n_ctx):
                    cont = self.tok.decode(out[len(ids) :])
                    if len(rows) < max_rows:
                        rows.append([label, prompt, cont])
                    words += cont.split()
                    b, t = off_grammar(prompt.split()[-1:] + cont.split())
                    bad, total = bad + b, total + t
            neg_count = sum(w in NEG_WORDS for w in words)
            pos_count = sum(w in POS_WORDS for w in words)
            stats[label] = (neg_count / max(1, neg_count + pos_count), bad / max(1, total))
        return rows, stats


def _grammar_bigrams() -> frozenset[tuple[str, str]]:
    """Every bigram :func:`sentence` text can contain (sentences concatenated, as in training)."""
    rng = random.Random(0)
    words = " ".join(sentence(rng, rng.random() < 0.5) for _ in range(4000)).split()
    return frozenset(zip(words, words[1:]))


GRAMMAR_BIGRAMS = _grammar_bigrams()


def off_grammar(words: list[str]) -> tuple[int, int]:
    """``(bigrams of words the training grammar never produces, bigrams)``."""
    pairs = list(zip(words, words[1:]))
    return sum(p not in GRAMMAR_BIGRAMS for p in pairs), len(pairs)


def readout_direction(model, tok: WordTokenizer) -> Any:
    """The residual-stream direction the final LayerNorm and unembedding read ``mean logit(negative words)
    - mean logit(positive words)`` from: LayerNorm centres its input and scales by its weight, so the
    direction is ``centre(w_ln * (mean W_U[:, neg] - mean W_U[:, pos]))`` (float32, on the model's device)."""
    import torch

    with torch.no_grad():
        w_u = model.W_U.detach().float()
        diff = w_u[:, [tok.index[w] for w in NEG_WORDS]].mean(1) - w_u[:, [tok.index[w] for w in POS_WORDS]].mean(1)
        weight = next((w for n, w in model.ln_final.named_parameters() if n.endswith("weight")), None)
        if weight is not None:
            diff = diff * weight.detach().float()
        return diff - diff.mean()


# --------------------------------------------------------------------------- the model


class SentimentLMSpec(LabParams):
    """The small language model trained on :func:`sentence` text (every field is in the cache key)."""

    n_layers: int = Field(3, ge=1)
    d_model: int = Field(64, gt=0)
    n_heads: int = Field(4, ge=1)
    d_head: int = Field(16, gt=0)
    d_mlp: int = Field(128, gt=0)
    n_ctx: int = Field(32, ge=8, description="context (sentences are concatenated to fill it)")
    steps: int = Field(450, gt=0)
    batch: int = Field(32, gt=0)
    lr: float = Field(3e-3, gt=0)

    def cache_key(self, seed: int) -> str:
        names = ("n_layers", "d_model", "n_heads", "d_head", "d_mlp", "n_ctx", "steps", "batch", "lr")
        return "steering-" + "-".join(f"{k}{getattr(self, k)}" for k in names) + f"-seed{seed}"


SENTIMENT_SMALL: dict[str, Any] = {"steps": 200, "lr": 6e-3, "n_ctx": 24, "batch": 40}
"""Learns the task at every seed (next sentiment word agrees with the sentence >= 0.9 at seeds 0-4)."""


def sentiment_batches(tok: WordTokenizer, batch: int, n_ctx: int) -> Callable[[int, torch.Generator], torch.Tensor]:
    """``batch_fn(step, generator)`` for :func:`mi_prep.lab.models.train_lm`: sentences of random sentiment
    (50/50) concatenated after BOS up to ``n_ctx`` tokens."""

    def batch_fn(step: int, g) -> torch.Tensor:
        import torch

        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
        rng = random.Random(seed)
        rows = []
        for _ in range(batch):
            ids = [tok.index["<bos>"]]
            while len(ids) < n_ctx:
                ids += tok.encode(sentence(rng, rng.random() < 0.5), bos=False)
            rows.append(ids[:n_ctx])
        return torch.tensor(rows, dtype=torch.long)

    return batch_fn


def sentiment_model(ctx: LabContext, spec: SentimentLMSpec) -> tuple[TransformerBridge, list[float], bool]:
    """The cached sentiment LM (only the :class:`SentimentLMSpec` fields of ``spec`` matter).
    Returns ``(model, loss_curve, was_cached)``; the model is in eval mode."""
    from mi_prep.lab.models import cached, make_model, train_lm

    tok = WordTokenizer()

    def build():
        return make_model(
            n_layers=spec.n_layers,
            d_model=spec.d_model,
            n_heads=spec.n_heads,
            d_head=spec.d_head,
            d_vocab=len(VOCAB),
            n_ctx=spec.n_ctx,
            d_mlp=spec.d_mlp,
            seed=ctx.seed,
            device=ctx.device,
        )

    def train(model):
        return train_lm(
            model, sentiment_batches(tok, spec.batch, spec.n_ctx), steps=spec.steps, lr=spec.lr, ctx=ctx, log_every=10
        )

    model, losses, was_cached = cached(ctx, spec.cache_key(ctx.seed), build, train)
    model.eval()
    return model, losses, was_cached
