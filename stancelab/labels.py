"""Label constants shared by data loaders, metrics and prediction."""

FAVOR, AGAINST, NONE = "favor", "against", "none"
POSITIVE, NEGATIVE, NEUTRAL = "positive", "negative", "neutral"

STANCE_LABELS = (FAVOR, AGAINST, NONE)
SENTIMENT_LABELS = (POSITIVE, NEGATIVE, NEUTRAL)
LABELS = {"stance": STANCE_LABELS, "sentiment": SENTIMENT_LABELS}
