"""The rules of mi_prep.lab.pedagogy on hand-made results (no torch): what counts as a key shown
before its question, and when two runs' keys differ."""

from __future__ import annotations

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent
from mi_prep.lab.api import Heatmap, LabResult, LinePlot, Series, Table, Text
from mi_prep.lab.pedagogy import giveaways, keys_differ, numeric_key_texts, unknown_reveals

WHICH = PickComponent(
    id="which",
    prompt="Which head?",
    explanation="L1H2 scored highest",
    components=("L1H0", "L1H1", "L1H2"),
    correct=("L1H2",),
)
HOW_MUCH = Numeric(id="much", prompt="Recovered?", explanation="patching recovered 87% of the gap", answer=0.8712)


def result(*blocks, questions=(WHICH, HOW_MUCH)):
    return LabResult(list(blocks), {}, list(questions))


def test_a_verdict_before_the_question_gives_it_away_and_after_it_does_not():
    verdict = Text(title="Verdict", body="The induction head is L1H2.")
    assert giveaways(result(verdict)) == ["which: key 'L1H2' appears in block 'Verdict'"]
    assert giveaways(result(Text(title="Verdict", body="The induction head is L1H2.", after="which"))) == []


def test_a_block_listing_every_alternative_is_data_not_a_verdict():
    table = Table(title="Scores", columns=["head", "score"], rows=[["L1H0", 0.1], ["L1H1", 0.2], ["L1H2", 0.9]])
    assert giveaways(result(table)) == []
    two_of_three = Table(title="Top two", columns=["head"], rows=[["L1H2"], ["L1H1"]])
    assert giveaways(result(two_of_three)) == ["which: key 'L1H2' appears in block 'Top two'"]


def test_a_number_is_found_the_way_the_lab_writes_it():
    assert {"87%", "0.87", "0.871"} <= numeric_key_texts(HOW_MUCH)
    assert giveaways(result(Text(title="Summary", body="recovery: 87%"))) == [
        "much: key 87% appears in block 'Summary'"
    ]
    assert giveaways(result(Table(title="T", columns=["x"], rows=[[0.8712]]))) != []
    # other numbers, a longer number that merely contains it, or a plot's ticks are not the key
    assert giveaways(result(Text(title="S", body="recovery 0.52, step 1870, 187%"))) == []
    plot = LinePlot(title="Curve", series=[Series("loss", [0, 1], [0.87, 0.8712])])
    assert giveaways(result(plot)) == []


def test_a_later_question_may_see_what_an_earlier_one_revealed():
    verdict = Text(title="Verdict", body="L1H2 recovered 87%", after="which")
    assert giveaways(result(verdict)) == ["much: key 87% appears in block 'Verdict'"]
    assert giveaways(result(verdict, questions=(HOW_MUCH, WHICH))) == []  # asked before the reveal


def test_heatmap_labels_and_values_count_too():
    hm = Heatmap(title="Recovery", values=[[0.8712]], row_labels=["L1H2"], col_labels=["pos 3"])
    assert any("much" in g for g in giveaways(result(hm))) and any("which" in g for g in giveaways(result(hm)))


def test_short_keys_and_free_text_are_not_checked():
    mc = MultipleChoice(id="mc", prompt="?", explanation="", options=("a", "b"), correct=0)
    ft = FreeText(id="ft", prompt="why?", explanation="", model_answer="because L1H2", key_points=("x",))
    assert giveaways(result(Text(title="t", body="a b L1H2 because"), questions=(mc, ft))) == []


def test_reveals_must_name_a_question():
    assert unknown_reveals(result(Text(title="V", body="", after="nope"))) == [
        "block 'V' is revealed by unknown question 'nope'"
    ]


def test_numeric_keys_differ_only_beyond_the_tolerance():
    def n(a, tol):
        return Numeric(id="n", prompt="?", explanation="", answer=a, abs_tol=tol, rel_tol=0)

    assert not keys_differ([n(0.50, 0.05), n(0.52, 0.05), n(0.48, 0.05)])
    assert keys_differ([n(0.50, 0.05), n(0.60, 0.05)])
    pick = [PickComponent(id="p", prompt="?", explanation="", components=("A", "B"), correct=(c,)) for c in "AAB"]
    assert keys_differ(pick) and not keys_differ(pick[:2])


def test_a_prompt_may_not_name_its_own_or_a_later_answer():
    ask = PickComponent(
        id="ask", prompt="Is it L1H2 that copies?", explanation="", components=("L1H0", "L1H2"), correct=("L1H2",)
    )
    assert giveaways(result(questions=(ask,))) == ["ask: key 'L1H2' appears in block 'prompt of ask'"]
    hint = Numeric(id="hint", prompt="(it will be 87%) Which head?", explanation="", answer=0.3)
    assert giveaways(result(questions=(hint, HOW_MUCH))) == ["much: key 87% appears in block 'prompt of hint'"]
    assert giveaways(result(questions=(HOW_MUCH, hint))) == []  # answered before it is read
    listing = PickComponent(
        id="l", prompt="Answer L1H0 or L1H2.", explanation="", components=("L1H0", "L1H2"), correct=("L1H2",)
    )
    assert giveaways(result(questions=(listing,))) == []


def test_a_choice_key_is_the_option_picked_not_its_wording():
    def mc(correct, where):
        opts = (f"A* (position {where})", f"B* (position {where + 1})")
        return MultipleChoice(id="m", prompt="?", explanation="", options=opts, correct=correct)

    assert not keys_differ([mc(1, 6), mc(1, 8)])  # the same answer, at another position
    assert keys_differ([mc(1, 6), mc(0, 6)])
