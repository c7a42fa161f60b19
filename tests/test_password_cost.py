"""Tests hash passwords cheaply (tests/conftest.py); production must keep the strong argon2id."""

from argon2 import PasswordHasher, Type, extract_parameters

from app.auth import passwords
from tests.conftest import CHEAP_HASHER


def test_production_hashes_with_the_recommended_argon2id_parameters():
    strong = passwords.production_hasher()
    assert strong.type is Type.ID
    # RFC 9106's low-memory profile, argon2-cffi's default: 3 passes over 64 MiB, 4 lanes
    assert strong.time_cost >= 3 and strong.memory_cost >= 64 * 1024 and strong.parallelism >= 4


def test_the_module_hashes_with_production_parameters_unless_a_test_swaps_them():
    cheap = passwords.use_hasher(passwords.production_hasher())  # as on import
    try:
        made = extract_parameters(passwords.hash_password("correct horse battery"))
        assert (made.type, made.time_cost, made.memory_cost, made.parallelism) == \
            (Type.ID, 3, 65536, 4)
    finally:
        passwords.use_hasher(cheap)
    assert cheap is CHEAP_HASHER


def test_hashes_made_either_way_verify_under_the_other():
    strong = PasswordHasher().hash("correct horse battery")
    cheap = passwords.hash_password("correct horse battery")
    assert extract_parameters(cheap).memory_cost == 8  # the suite's cheap parameters
    assert passwords.verify_password(strong, "correct horse battery")
    assert passwords.verify_password(cheap, "correct horse battery")
    assert not passwords.verify_password(strong, "wrong horse battery")
    assert not passwords.verify_password(None, "correct horse battery")  # unknown user
