"""validation.prefetch: batches drawn ahead in a thread are the stream drawn in place, each with the
generator state a checkpoint must save; errors reach the consumer; closing stops the producer."""
import contextlib
import threading

import pytest
import torch

from validation.prefetch import prefetched


def _stream(enabled: bool, n: int = 12):
    gen = torch.Generator().manual_seed(7)
    with contextlib.closing(prefetched(lambda: torch.rand(3, generator=gen), n, gen, enabled)) as items:
        return [(x.clone(), state.clone()) for x, state in items]


def test_prefetched_batches_and_states_equal_the_batches_drawn_in_place():
    ahead, in_place = _stream(True), _stream(False)
    assert len(ahead) == len(in_place) == 12
    for (x, s), (y, t) in zip(ahead, in_place):
        assert torch.equal(x, y) and torch.equal(s, t)
    # the state after batch k redraws batch k + 1: what a resumed run relies on
    gen = torch.Generator()
    gen.set_state(ahead[4][1])
    assert torch.equal(torch.rand(3, generator=gen), ahead[5][0])


def test_an_error_in_the_producer_reaches_the_consumer_after_the_batches_before_it():
    gen, calls = torch.Generator().manual_seed(0), [0]

    def draw():
        calls[0] += 1
        if calls[0] == 6:
            raise KeyboardInterrupt  # as a kill inside the draw
        return calls[0]

    seen = []
    with pytest.raises(KeyboardInterrupt):
        with contextlib.closing(prefetched(draw, 10, gen, True)) as items:
            for item, _ in items:
                seen.append(item)
    assert seen == [1, 2, 3, 4, 5]
    assert not any(t.name == "batch-sampler" for t in threading.enumerate())


def test_closing_early_stops_the_producer_thread():
    gen = torch.Generator().manual_seed(0)
    items = prefetched(lambda: torch.rand(2, generator=gen), 1000, gen, True, name="early-stop-test")
    next(items)
    items.close()
    assert not any(t.name == "early-stop-test" for t in threading.enumerate())
