"""Check tests/testset.jsonl against the corpus article (plain script, not a pytest test).

Run from /work/main:  .venv/bin/python tests/check_testset.py
Exits non-zero on any problem.
"""
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, "/work/main")
from rag.documents import load_document  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TESTSET = ROOT / "tests" / "testset.jsonl"
KEYS = {"id", "question", "answer", "answerable", "evidence", "keywords"}
UNANSWERABLE_ANSWER = "The articles do not say."


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def main() -> int:
    doc = load_document(ROOT / "corpus" / "altman-china-ai-open-weights.md", ROOT / "corpus")
    doc_text = norm(doc.text)
    problems: list[str] = []
    ids: set[str] = set()
    n_answerable = n_unanswerable = 0
    lines = TESTSET.read_text(encoding="utf-8").splitlines()
    for lineno, line in enumerate(lines, 1):
        where = f"line {lineno}"
        if not line.strip():
            problems.append(f"{where}: blank line")
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: invalid JSON ({exc})")
            continue
        if not isinstance(item, dict) or set(item) != KEYS:
            problems.append(f"{where}: keys {sorted(item) if isinstance(item, dict) else type(item)} != {sorted(KEYS)}")
            continue
        qid = item["id"]
        where = f"line {lineno} ({qid})"
        if not isinstance(qid, str) or not re.fullmatch(r"q\d{3}", qid):
            problems.append(f"{where}: bad id")
        if qid in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(qid)
        if qid != f"q{lineno:03d}":
            problems.append(f"{where}: id out of sequence (expected q{lineno:03d})")
        for field in ("question", "answer"):
            if not isinstance(item[field], str) or not item[field].strip():
                problems.append(f"{where}: empty or non-string {field}")
        if not isinstance(item["answerable"], bool):
            problems.append(f"{where}: answerable is not a bool")
            continue
        evidence, keywords = item["evidence"], item["keywords"]
        if not isinstance(evidence, list) or not all(isinstance(e, str) and e.strip() for e in evidence):
            problems.append(f"{where}: evidence must be a list of non-empty strings")
            continue
        if not isinstance(keywords, list) or not all(
            isinstance(g, list) and g and all(isinstance(k, str) and k.strip() for k in g) for g in keywords
        ):
            problems.append(f"{where}: keywords must be a list of non-empty lists of non-empty strings")
            continue
        for quote in evidence:
            if norm(quote) not in doc_text:
                problems.append(f"{where}: evidence not found in document: {quote!r}")
        if item["answerable"]:
            n_answerable += 1
            if not evidence:
                problems.append(f"{where}: answerable but no evidence")
            if not keywords:
                problems.append(f"{where}: answerable but no keywords")
            haystack = (item["answer"] + " " + " ".join(evidence)).lower()
            for group in keywords:
                if not any(k.lower() in haystack for k in group):
                    problems.append(f"{where}: keyword group {group} found in neither answer nor evidence")
        else:
            n_unanswerable += 1
            if evidence:
                problems.append(f"{where}: unanswerable but has evidence")
            if keywords:
                problems.append(f"{where}: unanswerable but has keywords")
            if item["answer"] != UNANSWERABLE_ANSWER:
                problems.append(f"{where}: unanswerable answer should be {UNANSWERABLE_ANSWER!r}")
    questions = [json.loads(l)["question"] for l in lines if l.strip()] if not problems else []
    if questions and len(set(questions)) != len(questions):
        problems.append("duplicate question text")
    print(f"questions: {n_answerable + n_unanswerable}  answerable: {n_answerable}  unanswerable: {n_unanswerable}")
    for problem in problems:
        print("PROBLEM:", problem)
    if problems:
        print(f"FAILED with {len(problems)} problem(s)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
