#!/usr/bin/env python3
"""Relative dates resolved by dateparser against the hand-resolved sets, as docs/dates.md reports it.

dateparser is not a dependency of the project; run this in a venv that has it (``pip install dateparser==1.5.0``):
    python scripts/compare_relative_dates.py tests/data/temporal/relative_dates.jsonl tests/data/temporal/relative_dates_heldout.jsonl

Two ways: "given the words" hands dateparser each hand-marked expression and compares its date, at the precision the
label gives, with the article's date as RELATIVE_BASE and PREFER_DATES_FROM from the label's kind (past/future; an
advantage the project's resolver does not get); "found in the text" lets dateparser.search find the expressions.
"""
import json
import sys
from datetime import datetime

import dateparser
from dateparser.search import search_dates


def at_precision(value: datetime, label: str) -> str:
    return value.strftime("%Y-%m-%d")[: len(label)]


def main() -> int:
    for path in sys.argv[1:]:
        rows = [json.loads(line) for line in open(path, encoding="utf-8")]
        given = found = total = extra = 0
        for row in rows:
            base = datetime.fromisoformat(row["published"])
            hits = search_dates(row["text"], settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past"},
                                languages=["en"]) or []
            for expression in row["expressions"]:
                total += 1
                prefer = "future" if expression["kind"] == "future" else "past"
                value = dateparser.parse(expression["words"], languages=["en"],
                                         settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": prefer})
                given += bool(value) and at_precision(value, expression["date"]) == expression["date"]
                match = [v for words, v in hits if words in expression["words"] or expression["words"] in words]
                found += bool(match) and at_precision(match[0], expression["date"]) == expression["date"]
            extra += sum(not any(w in e["words"] or e["words"] in w for e in row["expressions"]) for w, _ in hits)
        print(f"{path}: given the words {given}/{total} = {given / total:.3f}; found in the text {found}/{total} = "
              f"{found / total:.3f}, {extra} found where the set has none")
    return 0


if __name__ == "__main__":
    sys.exit(main())
