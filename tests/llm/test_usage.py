from musicflamingo.llm.base import Usage


def test_cost_at_prices_per_million_tokens():
    usage = Usage(calls=2, prompt_tokens=2_000_000, completion_tokens=500_000)
    assert usage.cost((0.15, 0.60)) == 0.6
    assert usage.cost(None) is None
    assert (usage + usage).cost((1.0, 0.0)) == 4.0
