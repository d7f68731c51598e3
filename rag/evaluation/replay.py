"""Replay the refusal rules on recorded answers, and fit the combiner that joins their signals.

An evaluation run with the after-the-answer rules off (``min_confidence=0``, ``min_grounded=0``,
``refuse_missing=``) records every written answer with its signals (Record.signals) and the question's
specifics that no source names (Record.missing). Which answers a setting would then refuse is a pure function
of those records, the same decision the pipeline makes in this order: the rules before asking (no close
passage, a number no source names, a code or name no source names), the model's own refusal, the confidence
floor, the combiner. So rules and thresholds can be compared on one run, fitted on one set and reported on
another; scripts/fit_refusal.py does that and writes rag/refusal_weights.json.
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..answerability import FEATURES, Signals, grounded_probability, missing_kinds
from .metrics import mean, share

BEFORE_ASKING = ("relevance", "numbers")  # rules that ran in the recorded run itself


def refused_by(record: dict, rules: dict, weights: Optional[dict] = None) -> str:
    """The rule that refuses the recorded answer under rules, or "" when it is shown.

    rules: ``{"refuse_missing": "code+name", "min_confidence": 0.56, "min_grounded": 0.5}`` (absent: off).
    ``refused_by({'refused': True, 'refused_by': 'numbers'}, {}) -> 'numbers'``;
    ``refused_by({'refused': False, 'missing': [['code', 'H20']]}, {'refuse_missing': 'code'}) -> 'missing'``
    """
    if record.get("refused") and record.get("refused_by") in BEFORE_ASKING:
        return record["refused_by"]
    kinds = missing_kinds(rules.get("refuse_missing", "none"))
    if any(kind in kinds for kind, _ in record.get("missing", [])):
        return "missing"
    if record.get("refused"):
        return record.get("refused_by") or "model"
    signals = Signals(**(record.get("signals") or {}))
    if signals.confidence is not None and signals.confidence < rules.get("min_confidence", 0.0):
        return "confidence"
    if weights and rules.get("min_grounded") and judged(record) and \
            grounded_probability(signals, weights) < rules["min_grounded"]:
        return "grounding"
    return ""


def judged(record: dict) -> bool:
    """Whether the combiner judges a written answer: as in the pipeline, only one that cites a source (a record
    without its sentences is taken to).

    ``judged({'claims': [{'cited': []}]}) -> False``; ``judged({'claims': [{'cited': [1]}]}) -> True``; ``judged({}) -> True``
    """
    claims = record.get("claims")
    return claims is None or any(claim.get("cited") for claim in claims)


def replay(records: Sequence[dict], rules: dict, weights: Optional[dict] = None) -> dict:
    """The refusal and answer metrics the rules would give on recorded answers.

    keyword_recall counts a refused answerable question as 0, as ``rag eval`` does; evidence_citation_precision
    is over the answerable questions still answered (the test set's evidence judges it, not the checker).
    """
    rows = [r for r in records if not r.get("error")]
    verdicts = [(r, bool(refused_by(r, rules, weights))) for r in rows]
    answerable = [(r, refused) for r, refused in verdicts if r["answerable"]]
    flags = [f for r, refused in answerable if not refused for f in r.get("cited_evidence", [])]
    return {"questions": len(rows),
            "refusal_accuracy": share(refused for r, refused in verdicts if not r["answerable"]),
            "false_refusal_rate": share(refused for r, refused in answerable),
            "keyword_recall": mean(0.0 if refused else r.get("keyword_recall") for r, refused in answerable
                                   if r.get("keyword_recall") is not None),
            "evidence_citation_precision": share(flags)}


def training_rows(records: Sequence[dict], rules: dict) -> tuple[list[list[float]], list[int]]:
    """(features, label) of the written answers the other rules let through and the combiner judges (judged): label 1
    for an answerable question."""
    xs, ys = [], []
    for record in records:
        if not record.get("error") and judged(record) and not refused_by(record, {**rules, "min_grounded": 0}):
            xs.append(Signals(**(record.get("signals") or {})).vector())
            ys.append(int(record["answerable"]))
    return xs, ys


# Which way each signal may move the probability that an answer is grounded: a sign of doubt never raises it.
SIGNS = {"claim_min": 1, "confidence": 1, "cited_missing": -1, "top_similarity": 1, "support_min": 1, "unheld_share": -1}


def fit(records: Sequence[dict], rules: dict, c: float = 1.0) -> dict:
    """A logistic regression of answerable-or-not on the signals (scikit-learn, L2, balanced classes). A signal whose
    weight comes out against its meaning (SIGNS) is left out (weight 0) and the rest fitted again: on a few dozen
    answers a doubt can correlate with answerable questions by chance, and shipping that would reward doubt."""
    from sklearn.linear_model import LogisticRegression

    xs, ys = training_rows(records, rules)
    if len(set(ys)) < 2:
        raise ValueError("fitting needs answered questions of both kinds, answerable and not")
    dropped: list[str] = []
    while True:
        kept = [i for i, name in enumerate(FEATURES) if name not in dropped]
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit([[x[i] for i in kept] for x in xs], ys)
        weights = dict(zip([FEATURES[i] for i in kept], model.coef_[0]))
        wrong = [name for name, w in weights.items() if w * SIGNS[name] < -1e-3]  # below 1e-3: no weight at all
        if not wrong:
            break
        dropped += wrong
    return {"features": list(FEATURES), "coef": [round(float(weights.get(name, 0.0)), 4) for name in FEATURES],
            "intercept": round(float(model.intercept_[0]), 4), "rows": len(ys), "answerable": sum(ys), "dropped": dropped}


def choose_threshold(groups: Sequence[Sequence[dict]], rules: dict, weights: dict, max_false: float = 0.10,
                     max_recall_loss: Optional[float] = None) -> float:
    """The min_grounded that refuses the most unanswerable questions of all groups (test sets) while false
    refusals stay at most max_false in each group, and, when max_recall_loss is given, keyword recall in each
    group at most that much below its recall without the combiner; the lowest such threshold on ties."""
    records = [r for group in groups for r in group]
    best, best_t = (-1.0, 0.0), 0.0
    scores = sorted({grounded_probability(Signals(**(r.get("signals") or {})), weights) for r in records
                     if r.get("signals")})
    floors = [(replay(group, rules)["keyword_recall"] or 0.0) - (max_recall_loss or 0.0) for group in groups]
    for t in [0.0, *[s + 1e-4 for s in scores]]:
        got = [replay(group, {**rules, "min_grounded": t}, weights) for group in groups]
        if all((g["false_refusal_rate"] or 0.0) <= max_false for g in got) and (max_recall_loss is None or all(
                (g["keyword_recall"] or 0.0) >= floor - 1e-9 for g, floor in zip(got, floors))):
            key = (replay(records, {**rules, "min_grounded": t}, weights)["refusal_accuracy"] or 0.0, -t)
            if key > best:
                best, best_t = key, t
    return round(best_t, 4)


def checker_by_evidence(records: Sequence[dict], min_claim: float) -> dict:
    """The sentence checks judged by the test set's evidence, not by themselves: over each (sentence, cited source)
    of answers to answerable questions, the share holding an evidence quote among those the model found stated
    (P(yes) >= min_claim) and among those it did not, and the same for the word/number check.

    ``checker_by_evidence([{'answerable': True, 'citations': [{'n': 1}], 'cited_evidence': [True], 'claims':
    [{'cited': [1], 'checked': {'1': 0.9}, 'supported': [1]}]}], 0.5)['model_backed_with_evidence'] -> 1.0``
    """
    model, words = {True: [], False: []}, {True: [], False: []}
    for record in records:
        if not record.get("answerable") or record.get("refused"):
            continue
        evidence = {c["n"]: flag for c, flag in zip(record.get("citations", []), record.get("cited_evidence", []))}
        for claim in record.get("claims", []):
            for n in claim.get("cited", []):
                if n not in evidence:
                    continue
                p = (claim.get("checked") or {}).get(str(n), (claim.get("checked") or {}).get(n))
                if p is not None:
                    model[p >= min_claim].append(evidence[n])
                words[n in claim.get("supported", [])].append(evidence[n])
    return {"model_backed_with_evidence": share(model[True]), "model_unbacked_with_evidence": share(model[False]),
            "model_backed": len(model[True]), "model_unbacked": len(model[False]),
            "words_backed_with_evidence": share(words[True]), "words_unbacked_with_evidence": share(words[False]),
            "words_backed": len(words[True]), "words_unbacked": len(words[False])}


def specifics_by_evidence(records: Sequence[dict]) -> dict:
    """The answer-side rule (Claim.unheld) judged by the test set's evidence: over each (sentence, cited source) of
    answers to answerable questions, the share holding an evidence quote among the sentences it marks and among the
    others; and over answers to unanswerable questions, the share of cited sentences it marks.

    ``specifics_by_evidence([{'answerable': True, 'citations': [{'n': 1}], 'cited_evidence': [False], 'claims':
    [{'cited': [1], 'unheld': ['May']}]}])['marked_with_evidence'] -> 0.0``
    """
    marked, kept, invented = [], [], []
    for record in records:
        if record.get("refused") or record.get("error"):
            continue
        evidence = {c["n"]: flag for c, flag in zip(record.get("citations", []), record.get("cited_evidence", []))}
        for claim in record.get("claims", []):
            if not claim.get("cited"):
                continue
            if not record.get("answerable"):
                invented.append(bool(claim.get("unheld")))
                continue
            for n in claim["cited"]:
                if n in evidence:
                    (marked if claim.get("unheld") else kept).append(evidence[n])
    return {"marked_with_evidence": share(marked), "marked": len(marked), "unmarked_with_evidence": share(kept),
            "unmarked": len(kept), "unanswerable_sentences_marked": share(invented), "unanswerable_sentences": len(invented)}


def refused_naming(records: Sequence[dict], items: Sequence[dict]) -> dict:
    """On questions with an invented part (the test set's "invented"), the share refused and the share refused with
    a reason that names it: judged by the test set's label, not by the rule that refused.

    ``refused_naming([{'id': 'a', 'refused': True, 'reason': 'The articles found do not mention a Marlow memo.'}],
    [{'id': 'a', 'invented': 'Marlow'}])`` -> ``{'questions': 1, 'refused': 1.0, 'refused_naming_it': 1.0}``
    """
    invented = {item["id"]: item["invented"] for item in items if item.get("invented")}
    rows = [r for r in records if r["id"] in invented and not r.get("error")]
    return {"questions": len(rows), "refused": share(r["refused"] for r in rows),
            "refused_naming_it": share(r["refused"] and invented[r["id"]] in (r.get("reason") or "") for r in rows)}
