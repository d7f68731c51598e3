"""An LLM judge for ``rag eval --judge-model PATH``: is the answer right, does each cited passage say its sentence?

Any GGUF can judge (a larger one than the assistant's, when the user has it). Each verdict is the model's
P(yes) to one short yes/no question (kvcache.yes_probability), so it costs one prompt read and no
generation. Its figures are reported as ``judge_*`` metrics beside the others, and only when a judge model
is given: they depend on that model, not on the pipeline's own support checker.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from ..generation import Generator
from ..settings import Settings
from .metrics import mean, share

SYSTEM = "You are a strict grader. Reply with yes or no only."
CORRECT = ("Question: {question}\nReference answer: {reference}\nCandidate answer: {answer}\n\n"
           "Does the candidate answer give the same answer as the reference answer? Reply with yes or no only.")
SUPPORTS = ("Passage:\n{passage}\n\nClaim: {claim}\n\n"
            "Does the passage state what the claim says? Reply with yes or no only.")


class Judge:
    """Yes/no verdicts from a local GGUF; the assistant's own loaded model is reused when it is the same file."""

    def __init__(self, settings: Settings, model_path: Path, generator: Optional[Generator] = None):
        same = generator is not None and Path(generator.path).resolve() == Path(model_path).resolve()
        self.generator = generator if same else Generator(settings, Path(model_path))
        self.name = Path(model_path).name

    def verdict(self, prompt: str) -> bool:
        """True when the judge more likely says yes than no."""
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        return self.generator.yes_probability(messages) >= 0.5

    def correct(self, question: str, reference: str, answer: str) -> bool:
        return self.verdict(CORRECT.format(question=question, reference=reference, answer=answer))

    def supports(self, claim: str, passage: str) -> bool:
        return self.verdict(SUPPORTS.format(passage=passage, claim=claim))

    def judge(self, item: dict, answer) -> dict:
        """``{"correct": bool or None, "pairs": [[claim index, source n, supported], …]}`` for one answer.

        correct is None for unanswerable questions (the refusal metrics judge those); a refused answerable
        question is not correct.
        """
        correct = None
        if item["answerable"]:
            correct = (not answer.refused) and self.correct(item["question"], item["answer"], answer.answer)
        pairs = [[i, n, self.supports(claim.text, answer.passages[n - 1].text)]
                 for i, claim in enumerate(answer.claims) for n in claim.cited
                 if not answer.refused and 1 <= n <= len(answer.passages)]
        return {"correct": correct, "pairs": pairs}


def judge_metrics(verdicts: Sequence[Optional[dict]]) -> dict:
    """The judge's figures over the records it judged; {} when there was no judge.

    judge_correct: answerable questions whose answer the judge found right (refused = wrong).
    judge_citation_precision: (sentence, cited source) pairs the judge found supporting.
    judge_citation_recall: per answer, the share of its cited sentences with a supporting source, averaged.
    ``judge_metrics([{'correct': True, 'pairs': [[0, 1, True], [0, 2, False]]}, {'correct': False, 'pairs': []}])``
    -> ``{'judge_correct': 0.5, 'judge_citation_precision': 0.5, 'judge_citation_recall': 1.0}``
    """
    judged = [v for v in verdicts if v is not None]
    if not judged:
        return {}
    pairs = [supported for v in judged for _, _, supported in v["pairs"]]
    recalls = []
    for v in judged:
        sentences = {i for i, _, _ in v["pairs"]}
        if sentences:
            recalls.append(len({i for i, _, ok in v["pairs"] if ok}) / len(sentences))
    return {"judge_correct": share(v["correct"] for v in judged if v["correct"] is not None),
            "judge_citation_precision": share(pairs), "judge_citation_recall": mean(recalls)}
