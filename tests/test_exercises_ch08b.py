"""Chapter 08b's NT-Xent checker: passes the reference, names each typical mistake."""

import pytest

from mini_lib.exercises.ch08b_self_supervised import _MISTAKES, _loss, check_nt_xent
from mini_lib.fewshot.contrastive import nt_xent_loss


def test_the_reference_passes():
    result = check_nt_xent(nt_xent_loss)
    assert result.passed, result.message


@pytest.mark.parametrize("switches, hint", _MISTAKES)
def test_each_typical_mistake_is_named(switches, hint):
    result = check_nt_xent(lambda f, t: _loss(f, t, **switches))
    assert not result.passed
    assert hint in result.message


def test_a_stub_and_an_unknown_error_are_reported():
    def stub(features, temperature):
        raise NotImplementedError

    assert "not implemented yet" in check_nt_xent(stub).message
    assert "wrong loss" in check_nt_xent(lambda f, t: nt_xent_loss(f, t) + 1).message
    assert "one number" in check_nt_xent(lambda f, t: f.sum(1)).message
