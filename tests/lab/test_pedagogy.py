"""Labs test understanding, not reading: every lab in the registry, run at seeds 0-4 (small settings).

* no question's key, written the way the lab writes it, is shown before the question is asked;
* every block revealed by a question names a question of the run;
* the seed changes what the learner must find: at least two auto-graded keys differ across seeds 0-4,
  and a graded question whose key never changes is marked ``conceptual`` (and one that changes is not);
* question ids are the same at every seed (a question is the same question, its key follows the run).
"""

from __future__ import annotations

import pytest

from mi_prep.core.questions import Question
from mi_prep.lab import registry
from mi_prep.lab.pedagogy import giveaways, graded, keys_differ, unknown_reveals

NAMES = sorted(registry.discover())
SEEDS = range(5)

pytestmark = [pytest.mark.slow, pytest.mark.needs_torch]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", NAMES)
def test_no_key_is_shown_before_its_question(small_result, name, seed):
    r = small_result(name, seed)
    assert not unknown_reveals(r)
    assert not giveaways(r), f"{name} seed {seed}: " + "; ".join(giveaways(r))


def _by_id(small_result, name: str) -> dict[str, list[Question]]:
    runs = [small_result(name, s) for s in SEEDS]
    ids = [[q.id for q in r.questions] for r in runs]
    assert all(i == ids[0] for i in ids), f"{name}: question ids differ across seeds: {ids}"
    return {qid: [r.questions[k] for r in runs] for k, qid in enumerate(ids[0])}


@pytest.mark.parametrize("name", NAMES)
def test_the_seed_changes_what_must_be_found(small_result, name):
    by_id = _by_id(small_result, name)
    varying = [qid for qid, qs in by_id.items() if graded(qs[0]) and keys_differ(qs)]
    assert len(varying) >= 2, f"{name}: only {varying} have keys that differ across seeds 0-4"
    for qid, qs in by_id.items():
        if not graded(qs[0]):
            continue
        if keys_differ(qs):
            assert not qs[0].conceptual, f"{name}: {qid} is marked conceptual but its key changes with the seed"
        else:
            assert qs[0].conceptual, f"{name}: {qid}'s key is {qs[0].answer_text()} at every seed: mark it conceptual"
