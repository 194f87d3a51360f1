import pytest

# Helpers with asserts, shared by test modules: pytest rewrites their asserts too.
pytest.register_assert_rewrite("tests.api_helpers")
