"""Shared model specs and datasets: the one source of defaults for every lab that uses them.

* :mod:`.induction` -- the 2-layer attention-only induction model, repeated-token data (and its
  first-copy vs repeat losses) and the clean/corrupted prompt pairs the patching labs use.
* :mod:`.sentiment` -- the word-level one-sentiment corpus, the small language model trained on it, and
  its read-outs (steering vectors, next-sentiment-word probe, sampled continuations).
* :mod:`.sparse_features` -- synthetic activations built from known sparse feature directions, and an
  SAE fitted and scored on them with seeds shared by every variant.

Importing these modules does not import torch (it is imported inside the functions).
"""
