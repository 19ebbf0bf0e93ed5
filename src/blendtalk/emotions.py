"""The common emotion label set of DESIGN.md: Ekman-7 plus shame, guilt and neutral."""

EMOTIONS: tuple[str, ...] = (
    "anger", "contempt", "disgust", "fear", "joy", "sadness", "surprise",
    "shame", "guilt", "neutral",
)
