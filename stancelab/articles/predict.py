"""Stance and sentiment for every sentence of an article, with its speaker.

:func:`predict_article` attributes the article (:mod:`stancelab.articles.attribution`) and asks a
predictor for each sentence × target. The predictor is passed in: anything with ``targets``,
``resolve_target(name)``, ``frame(records, speakers=False)`` and ``predict_frame(frame, evidence=...)``,
such as ``stancelab.serving.predictor.Predictor``; this module does not load models. The article's
speakers come from the whole article, so the predictor's own single-quote attribution is off here.
"""

from __future__ import annotations

from stancelab.articles.attribution import attribute_article

__all__ = ["predict_article"]


def predict_article(predictor, text_or_path, actors=None, targets=None, evidence: bool = False) -> list[dict]:
    """Attribute an article's sentences and predict stance + sentiment for each.

    One record per sentence × target, in article order (targets in the order given, default: all
    the model's targets): ``sentence_index, sentence, actor, speaker_span, rule, target, stance,
    stance_proba, sentiment, sentiment_proba`` (+ ``evidence``). Narration sentences (no speaker) are
    predicted too, with ``actor`` None.
    """
    attributions = attribute_article(text_or_path, actors)
    resolved = [predictor.resolve_target(t) for t in (targets or list(predictor.targets))]
    resolved = list(dict.fromkeys(resolved))
    rows = [{"text": a.sentence, "target": t, "actor": a.actor or ""} for a in attributions for t in resolved]
    results = predictor.predict_frame(predictor.frame(rows, speakers=False), evidence=evidence)
    out, k = [], 0
    for a in attributions:
        for _ in resolved:
            result = results[k]
            k += 1
            record = {"sentence_index": a.index, "sentence": a.sentence, "actor": a.actor,
                      "speaker_span": a.speaker_span, "rule": a.rule, "target": result["target"]}
            for task in ("stance", "sentiment"):
                record[task] = result.get(task)
                record[f"{task}_proba"] = result.get(f"{task}_proba")
            if evidence:
                record["evidence"] = result.get("evidence", {})
            out.append(record)
    return out

