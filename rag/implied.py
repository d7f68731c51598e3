"""Words a question implies but does not write, for the parts of retrieval that match words (BM25 and the choice of
sentences, context.py).

"Who runs the Dunmore Transit Authority now?" is answered by "said Ingrid Solberg, who became the authority's chief
executive in January", which shares only "authority" with the question; the article's first sentence shares three
of its words and says nothing about who leads it. Dense retrieval finds such paraphrases by itself, word overlap
does not. One kind of question is covered, the one whose answer news most often changes: who leads something (a
company's chief executive, a club's manager, a project's leader; rag/when.py reads when it is asked about).

Chosen on the temporal set's "who leads" questions and checked on the bundled and RGB sets (docs/time.md).
"""
from __future__ import annotations

import re

# "director" is left out: "Who is the director of Avatar?" asks about a film, not who leads something.
LEADS = re.compile(r"\b(?:run|runs|running|ran|lead|leads|leading|led|head|heads|heading|headed|manage|manages|"
                   r"managing|managed|boss|in charge|at the helm|chief|ceo|chair|chairs|chaired|leader|manager|"
                   r"coach|coaches|coached)\b", re.IGNORECASE)
WHO = re.compile(r"\bwho(?:m|se)?\b", re.IGNORECASE)
LEADERSHIP_ASKED = re.compile(r"\bleadership\b", re.IGNORECASE)  # "how has the leadership of X changed": who led it
# How news says who leads something and when that changed.
LEADERSHIP = ("chief executive", "leader", "head", "manager", "chair", "director", "president", "appointed",
              "took over", "replaced", "succeeded", "successor")
WEIGHT = 0.5  # what a sentence holding an implied word scores more (a sentence holding all the asked words scores 1)


def implied(question: str) -> str:
    """The words a question implies, '' for most questions.

    ``implied('Who runs Harwick Rail now?') -> 'chief executive leader head … successor'``;
    ``implied('Who was managing Fenwick Rovers in 2021?')`` gives the same words;
    ``implied('How has the leadership of Harwick Rail changed?')`` gives them too (who led it, over time);
    ``implied('Why did the trams run late?') -> ''`` (not a question about who leads).
    """
    asks = (WHO.search(question) and LEADS.search(question)) or LEADERSHIP_ASKED.search(question)
    return " ".join(LEADERSHIP) if asks else ""
