"""The optional LLM judge of rag eval, with the bundled model, on hand-made cases whose verdicts are known."""
import pytest

from rag.evaluation.judge import Judge, judge_metrics

FESTIVAL = ("The Zorblax river festival in the town of Vellmora was founded in 1987 by the fisherman Anouk Brevik. "
            "It takes place every June, when boats decorated with lanterns race down the river at night.")


def test_judge_metrics():
    verdicts = [{"correct": True, "pairs": [[0, 1, True], [0, 2, False]]}, {"correct": False, "pairs": []}, None]
    assert judge_metrics(verdicts) == {"judge_correct": 0.5, "judge_citation_precision": 0.5,
                                       "judge_citation_recall": 1.0}
    assert judge_metrics([None, None]) == {}


@pytest.fixture(scope="module")
def judge(llm, model_path):
    from rag.generation import Generator
    from rag.settings import Settings

    return Judge(Settings(), model_path, Generator(Settings(), model_path, llm))


@pytest.mark.parametrize("answer, right", [
    ("It was founded by Anouk Brevik [1].", True),
    ("The festival was founded by the mayor, Tom Jansen [1].", False),
    ("It takes place every June [1].", False),
])
def test_judge_grades_an_answer_against_the_reference(judge, answer, right):
    assert judge.correct("Who founded the Zorblax river festival?", "Anouk Brevik, a fisherman.", answer) is right


@pytest.mark.parametrize("claim, supported", [
    ("The festival was founded in 1987.", True),
    ("Boats decorated with lanterns race down the river at night.", True),
    ("The festival was founded in 2003 by the town council.", False),
    ("The winning crew receives a golden trophy.", False),
])
def test_judge_tells_whether_the_passage_states_the_claim(judge, claim, supported):
    assert judge.supports(claim, FESTIVAL) is supported
