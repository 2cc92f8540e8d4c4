"""Shared model specs and datasets: the one source of defaults for every lab that uses them.

* :mod:`.induction` -- the 2-layer attention-only induction model, repeated-token data and the
  clean/corrupted prompt pairs the patching labs use.
* :mod:`.sentiment` -- the word-level one-sentiment corpus and the small language model trained on it.
* :mod:`.sparse_features` -- synthetic activations built from known sparse feature directions.

Importing these modules does not import torch (it is imported inside the functions).
"""
