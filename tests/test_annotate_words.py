"""The rules annotator's word rules (resources/lexicon/*.csv): intensity, negation, blends,
facial-action words, emoji; every answer schema-valid through parse_answer."""

import csv

import pytest

from blendtalk.annotate.backends import Row, make_backend
from blendtalk.annotate.backends import rules, rules_words
from blendtalk.annotate.backends.rules_words import WORD_TABLES, analyse, load_tables
from blendtalk.annotate.validate import parse_answer
from blendtalk.blendshapes.mapping import load_mapping
from blendtalk.facs.catalogue import load_catalogue
from blendtalk.paths import resource

LETTERS = "ABCDE"


def annotate(*rows):
    backend = make_backend({"backend": "rules"})
    anns = [parse_answer(a.raw) for a in backend.annotate(list(rows), seed=0)]
    for ann in anns:
        assert ann.status == "ok", ann.problems
    return anns


def row(text, emotions=(), intensity=None, i=0):
    return Row(f"{i:016x}", text, tuple(emotions), intensity)


def level(ann, au):
    return LETTERS.index(dict(ann.action_units)[au])


def test_every_table_loads_cites_and_is_fingerprinted():
    tables = load_tables()
    assert tables.actions and tables.emoji and tables.negators and tables.intensifiers
    lexicon_dir = resource("resources/lexicon")
    assert set(lexicon_dir.glob("*.csv")) == set(WORD_TABLES)  # a new table must be hashed too
    for path in WORD_TABLES:
        with open(path, encoding="utf-8", newline="") as fh:
            for rec in csv.DictReader(fh):
                if "source" in rec:
                    assert rec["source"].strip() and rec["rationale"].strip(), (path, rec)
    mapped, known = set(load_mapping().aus), set(load_catalogue().numbers)
    for _, aus, name in tables.actions:
        assert {au for au, _ in aus} <= mapped & known, name


def test_fingerprint_has_version_and_word_tables(monkeypatch):
    before = rules.fingerprint()
    monkeypatch.setattr(rules, "RULES_VERSION", rules.RULES_VERSION + 1)
    assert rules.fingerprint() != before
    assert rules.RULES_VERSION >= 2


def test_intensifiers_and_diminishers_shift_letters():
    plain, very, extremely, bit = annotate(row("I am sad today"), row("I am very sad today"),
                                           row("I am extremely sad today"),
                                           row("I am a bit sad today"))
    assert level(bit, 15) < level(plain, 15) < level(very, 15) < level(extremely, 15)
    conj, = annotate(row("so I went home sad"))  # "so" + function word: a conjunction
    assert level(conj, 15) == level(plain, 15)


def test_exclamation_caps_and_emoji_shift_letters():
    calm, excl, double, caps, acronym = annotate(
        row("We won the game", ("joy",)), row("We won the game!", ("joy",)),
        row("We won the game!!", ("joy",)), row("WE WON the game", ("joy",)),
        row("We won the NBA game", ("joy",)))
    assert level(calm, 12) < level(excl, 12) < level(double, 12)
    assert level(caps, 12) == level(excl, 12) and level(acronym, 12) == level(calm, 12)
    assert dict(excl.action_units).get(25) and not dict(calm.action_units).get(25)
    sob, tear = annotate(row("My cat 😭"), row("My cat 😢"))
    assert sob.emotions == tear.emotions == ["sadness"]
    assert level(sob, 15) > level(tear, 15)
    smiley, = annotate(row("see you there :)"))
    assert smiley.emotions == ["joy"]


def test_corpus_intensity_is_the_base_and_words_move_it_one_letter():
    low, low_loud = annotate(row("I am angry", ("anger",), 0.45),
                             row("I am EXTREMELY ANGRY!!", ("anger",), 0.45))
    assert level(low, 4) == 2 and level(low_loud, 4) == 3  # C, at most one letter more


def test_negation_flips_or_cancels_the_vote():
    not_happy, happy, not_afraid, never_so, sad, dislike, no_smile = annotate(
        row("I am not happy about it"), row("I am happy about it"), row("I'm not afraid of it"),
        row("I've never been so sad"), row("I am sad"), row("I don't like this at all"),
        row("She didn't smile once", ("neutral",)))
    assert happy.emotions == ["joy"] and 12 in dict(happy.action_units)
    assert not_happy.emotions == ["sadness"] and 12 not in dict(not_happy.action_units)
    assert level(not_happy, 15) == 0  # mild sadness: A
    assert not_afraid.emotions == ["neutral"] and not_afraid.action_units == []
    assert never_so.emotions == ["sadness"] and level(never_so, 15) > level(sad, 15)
    assert dislike.emotions == ["disgust"]
    assert 12 not in dict(no_smile.action_units)  # the negated action is not shown
    assert "smile" in analyse("She didn't smile once").negated


def test_multi_label_blend_is_union_with_weaker_secondary():
    joy_surprise, = annotate(row("We won", ("joy", "surprise")))
    aus = dict(joy_surprise.action_units)
    assert {6, 12, 1, 2, 26} <= set(aus)
    assert LETTERS.index(aus[1]) < LETTERS.index(aus[12])  # secondary one letter weaker
    bitter, = annotate(row("Graduation day", ("joy", "sadness")))
    aus = dict(bitter.action_units)
    assert 12 in aus and 15 not in aus  # 12 and 15 are incompatible: the primary keeps 12
    assert {1, 4} <= set(aus)
    mixed, = annotate(row("I am angry and scared"))
    assert mixed.emotions == ["anger", "fear"]
    assert {4, 23, 20} <= set(dict(mixed.action_units))
    labelled, = annotate(row("This is so sad", ("anger",)))
    assert labelled.emotions == ["anger", "sadness"]  # a word adds a secondary to the label


FACIAL = {"She smiled at me": {6, 12}, "He grinned": {6, 12, 25}, "We laughed": {6, 12, 25, 26},
          "I cried": {1, 4, 15, 17}, "Tears everywhere": {1, 4, 15, 17}, "He frowned": {4},
          "She gasped": {1, 2, 5, 26}, "He rolled his eyes": {63}, "I screamed": {20, 27},
          "She winced": {4, 6, 7, 43}, "He sneered": {9, 10}, "She blushed": {12, 24, 64},
          "I yawned": {27, 43}}


@pytest.mark.parametrize("text, core", FACIAL.items())
def test_facial_action_words(text, core):
    for emotions in ((), ("neutral",)):
        ann, = annotate(row(text + " in the hallway", emotions))
        assert core <= set(dict(ann.action_units)), ann.action_units
        assert not ({26, 27} <= set(dict(ann.action_units)))  # catalogue: 26 vs 27 exclusive


def test_neutral_sentence_shows_a_face_only_when_words_say_so():
    blank, smiled, worded = annotate(row("The bus leaves at five", ("neutral",)),
                                     row("The driver smiled as the bus left", ("neutral",)),
                                     row("The bus is late and I am furious", ("neutral",)))
    assert blank.action_units == []
    assert smiled.emotions == ["neutral"] and {6, 12} <= set(dict(smiled.action_units))
    assert smiled.description.startswith("The face shows")
    assert worded.emotions == ["neutral", "anger"] and 4 in dict(worded.action_units)


def test_question_raises_brows_where_free():
    question, = annotate(row("Where is the station?", ("neutral",)))
    assert dict(question.action_units) == {1: "A", 2: "B"}
    surprised, = annotate(row("Where is it?", ("surprise",)))
    assert level(surprised, 2) >= 2  # the prototype's brows are not lowered by the question


def test_words_change_the_face_for_one_label():
    texts = ["I love it", "I love it!!", "I kind of love it", "She smiled, I love it",
             "I love it 😂", "I love it, but it is sad", "Do you love it?", "We laughed, I love it"]
    anns = annotate(*[row(t, ("joy",), i=i) for i, t in enumerate(texts)])
    assert len({tuple(a.action_units) for a in anns}) == len(texts)


HOSTILE = ["", "!!!!!!!!", "?" * 300, "NOT NOT NOT not never no", "😂" * 100, ":( :) XD ;)",
           "rolled my eyes rolled my eyes screamed yawned laughed cried", "n't n't n't",
           "so so so so so very very extremely", "\u2019not\u2019 happy", "a bit a little slightly"]


@pytest.mark.parametrize("text", HOSTILE)
def test_odd_texts_stay_schema_valid(text):
    for emotions in ((), ("neutral",), ("joy", "sadness", "anger")):
        ann, = annotate(row(text, emotions))
        assert ann.description and len(ann.action_units) <= 12


def test_bad_table_rows_are_rejected(tmp_path, monkeypatch):
    bad = tmp_path / "facial_actions.csv"
    bad.write_text("pattern,aus,rationale,source\nsmile,99:C,why,who\n", encoding="utf-8")
    monkeypatch.setattr(rules_words, "FACIAL_ACTIONS_CSV", bad)
    load_tables.cache_clear()
    try:
        with pytest.raises(ValueError, match="AU '99' is not in the catalogue"):
            load_tables()
        bad.write_text("pattern,aus,rationale,source\nsmile,12:C,why,\n", encoding="utf-8")
        with pytest.raises(ValueError, match="needs a source"):
            load_tables()
    finally:
        load_tables.cache_clear()


def test_lengthened_words_are_looked_up_and_emphasise():
    plain, long = annotate(row("I am sad today"), row("I am saaaad today"))
    assert long.emotions == ["sadness"] and level(long, 15) == level(plain, 15) + 1
    laugh, = annotate(row("hahahaha ok", ("neutral",)))
    assert {6, 12} <= set(dict(laugh.action_units))


def test_repeated_words_strengthen_and_third_emotion_blends_weaker():
    once, twice = annotate(row("I am sad today"), row("I am sad and lonely today"))
    assert level(twice, 15) == level(once, 15) + 1
    three, = annotate(row("We won", ("joy", "surprise", "fear")))
    aus = dict(three.action_units)
    assert 20 in aus and LETTERS.index(aus[20]) == LETTERS.index(aus[12]) - 2


def test_graded_words_follow_plutchik():
    annoyed, angry, furious = annotate(row("I am annoyed"), row("I am angry"), row("I am furious"))
    assert level(annoyed, 4) < level(angry, 4) < level(furious, 4)


def test_idioms_carry_their_own_negation():
    cues = analyse("I can't believe how happy I am")
    assert cues.emotions() == ["joy", "surprise"] and not cues.negated
    laughing, = annotate(row("I can't stop laughing", ("neutral",)))
    assert {6, 12, 25, 26} <= set(dict(laughing.action_units))


def test_many_cues_stay_within_the_schema_limit():
    text = ("She smiled, laughed, gasped, winced, sneered, frowned, blushed, yawned, squinted, "
            "pouted and stared?!")
    ann, = annotate(row(text, ("fear", "disgust", "anger", "sadness")))
    assert len(ann.action_units) <= 12 and ann.status == "ok"


def test_sentiment_strength_grades_a_valenced_face_within_its_letter():
    flat, strong = "It is what it is.", "The worst, most horrible day."  # no lexicon words
    assert analyse(flat).shift == analyse(strong).shift == 0 and not analyse(strong).emotions()
    calm, grim = annotate(row(flat, ("sadness",)), row(strong, ("sadness",)))
    assert level(calm, 1) == level(grim, 1)  # the letter is the words' and the label's
    assert level(grim, 15) == level(calm, 15) + 1  # a later AU lags in the flat sentence
    # VADER measures valence, not surprise: a surprised face is not graded by it
    assert annotate(row(flat, ("surprise",))) == annotate(row(strong, ("surprise",)))
    # a corpus intensity places the face within its letter instead (0.5 → C, halfway)
    assert rules.within_letter(row(strong, ("sadness",), 0.5), "sadness") == pytest.approx(0.5)


def test_lengthened_words_are_shortened_for_sentiment_too():
    assert rules_words.unlengthened("I am saaaad, SOOOO sad", {"sad"}) == "I am sad, SO sad"
    assert rules._sentiment("I am saaaad today") == rules._sentiment("I am sad today") < 0
