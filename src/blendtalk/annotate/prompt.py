"""The annotation prompt and its output JSON schema, versioned together.

`PROMPT_VERSION` hashes everything that shapes a model's answer (template, few-shot examples,
schema and AU catalogue), so the answer cache and the output table know which prompt produced
each row. Messages are plain role/content dicts: backends format them with the model tokenizer's
own chat template.
"""

from __future__ import annotations

import json
from functools import lru_cache

from blendtalk.annotate.backends.base import Row
from blendtalk.emotions import EMOTIONS
from blendtalk.facs.catalogue import INTENSITY_LETTERS, load_catalogue
from blendtalk.ids import short_hash

DESCRIPTION_MAX_CHARS = 300
MAX_EMOTIONS = 5
MAX_ACTION_UNITS = 12

SYSTEM_TEMPLATE = """\
You are an expert coder of the Facial Action Coding System (FACS, Ekman & Friesen). Given a \
sentence, imagine the face of a person saying it with feeling and code that face.

FACS breaks facial movement into action units (AUs), each produced by specific muscles. \
Intensity is scored with the letters A (trace), B (slight), C (marked), D (severe), E (maximum). \
Code only the AUs visible at the expression's apex; a neutral face may have none.

Allowed action units (use the number):
{au_list}

These AUs cannot be coded together (keep only the stronger one):
{incompatible}

Allowed emotions: {emotions}.

Answer with one JSON object and nothing else:
{{"emotions": [1 to {max_emotions} emotions, strongest first], \
"action_units": [{{"au": <number>, "intensity": "<A-E>"}}, ...], \
"description": "<one sentence describing the face, at most {max_chars} characters>"}}"""

USER_TEMPLATE = "{hint}Sentence: {text}"
HINT_TEMPLATE = "Corpus label: {emotions}{intensity}.\n"

#: Few-shot examples: (row, answer). Each answer obeys the schema and the catalogue's rules
#: (checked by the tests).
EXAMPLES: tuple[tuple[Row, dict], ...] = (
    (Row("example-1", "I can't believe we actually won the whole thing!", ("joy", "surprise"), 0.9),
     {"emotions": ["joy", "surprise"],
      "action_units": [{"au": 1, "intensity": "C"}, {"au": 2, "intensity": "C"},
                       {"au": 5, "intensity": "B"}, {"au": 6, "intensity": "D"},
                       {"au": 12, "intensity": "E"}, {"au": 25, "intensity": "C"},
                       {"au": 26, "intensity": "B"}],
      "description": "Brows raised and eyes widened over a broad smile that lifts the cheeks, "
                     "lips parted and jaw slightly dropped."}),
    (Row("example-2", "He just stood there and let them take everything from me.",
         ("sadness", "anger"), 0.6),
     {"emotions": ["sadness", "anger"],
      "action_units": [{"au": 1, "intensity": "C"}, {"au": 4, "intensity": "C"},
                       {"au": 15, "intensity": "C"}, {"au": 17, "intensity": "B"},
                       {"au": 23, "intensity": "B"}],
      "description": "Inner brows drawn up and together, lip corners pulled down and chin pushed "
                     "up, lips tightened in bitter restraint."}),
    (Row("example-3", "The smell coming out of that fridge made me gag.", ("disgust",), 0.8),
     {"emotions": ["disgust"],
      "action_units": [{"au": 9, "intensity": "D"}, {"au": 10, "intensity": "C"},
                       {"au": 15, "intensity": "B"}, {"au": 16, "intensity": "B"},
                       {"au": 25, "intensity": "B"}],
      "description": "Nose wrinkled and upper lip raised in revulsion, lower lip pushed down "
                     "and lip corners turned down."}),
    (Row("example-4", "The meeting has been moved to three o'clock.", ("neutral",), None),
     {"emotions": ["neutral"],
      "action_units": [],
      "description": "A relaxed, neutral face with no visible muscle activity."}),
)


@lru_cache(maxsize=1)
def json_schema() -> dict:
    """JSON schema of one answer: emotions (1–5 of the common set), action units (catalogue
    numbers with an A–E intensity), and a bounded one-sentence description."""
    numbers = list(load_catalogue().numbers)
    return {
        "type": "object",
        "properties": {
            "emotions": {"type": "array", "items": {"type": "string", "enum": list(EMOTIONS)},
                         "minItems": 1, "maxItems": MAX_EMOTIONS},
            "action_units": {
                "type": "array",
                "items": {"type": "object",
                          "properties": {"au": {"type": "integer", "enum": numbers},
                                         "intensity": {"type": "string",
                                                       "enum": list(INTENSITY_LETTERS)}},
                          "required": ["au", "intensity"],
                          "additionalProperties": False},
                "maxItems": MAX_ACTION_UNITS},
            "description": {"type": "string", "minLength": 1, "maxLength": DESCRIPTION_MAX_CHARS},
        },
        "required": ["emotions", "action_units", "description"],
        "additionalProperties": False,
    }


@lru_cache(maxsize=1)
def system_message() -> str:
    """The shared system prompt: FACS background, the numbered AU list, incompatible pairs."""
    cat = load_catalogue()
    au_list = "\n".join(f"AU{u.au} {u.name} ({u.region})" for u in cat.units)
    incompatible = ", ".join(f"AU{a} and AU{b}" for a, b in sorted(cat.incompatible))
    return SYSTEM_TEMPLATE.format(au_list=au_list, incompatible=incompatible,
                                  emotions=", ".join(EMOTIONS), max_emotions=MAX_EMOTIONS,
                                  max_chars=DESCRIPTION_MAX_CHARS)


def user_message(row: Row, hints: bool) -> str:
    """The per-row user turn: optional corpus hints, then the sentence."""
    hint = ""
    if hints and row.emotions:
        strength = "" if row.intensity is None else f" (intensity {row.intensity:.2f} of 1)"
        hint = HINT_TEMPLATE.format(emotions=", ".join(row.emotions), intensity=strength)
    return USER_TEMPLATE.format(hint=hint, text=row.text)


def build_messages(row: Row, hints: bool) -> list[dict]:
    """Chat messages for one row: system, few-shot user/assistant turns, then the row's sentence
    last, so every row of a run shares the longest possible prefix."""
    messages = [{"role": "system", "content": system_message()}]
    for example, answer in EXAMPLES:
        messages.append({"role": "user", "content": user_message(example, hints)})
        messages.append({"role": "assistant", "content": json.dumps(answer, ensure_ascii=False)})
    messages.append({"role": "user", "content": user_message(row, hints)})
    return messages


def _prompt_version() -> str:
    parts = [SYSTEM_TEMPLATE, USER_TEMPLATE, HINT_TEMPLATE,
             json.dumps([[e.__dict__, a] for e, a in EXAMPLES], sort_keys=True),
             json.dumps(json_schema(), sort_keys=True),
             load_catalogue().source.read_text(encoding="utf-8")]
    return short_hash(parts)


PROMPT_VERSION: str = _prompt_version()
