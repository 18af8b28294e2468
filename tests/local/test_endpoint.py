"""Local endpoints without a model: what a failed start reports, and that stopping is safe. (A served model, its
/invocations and the reuse of a running server are in the end-to-end test.)"""

from __future__ import annotations

import pytest

from pipelines.local import LocalModeError, list_endpoints, start_endpoint, stop_endpoint


def test_a_server_that_cannot_load_its_model_fails_with_the_end_of_its_log(tmp_path):
    empty = tmp_path / "model"
    empty.mkdir()
    with pytest.raises(LocalModeError, match=r"endpoint staging: the inference server exited with code 2; end of "
                                             r".*server.log:\n(.|\n)*ERROR: "):
        start_endpoint(tmp_path / "state", "staging", empty, timeout_s=60)
    assert list_endpoints(tmp_path / "state") == []


def test_a_missing_model_is_named(tmp_path):
    with pytest.raises(LocalModeError, match="endpoint staging: the model s3://b/models/x/model.tar.gz is not in the "
                                             "local object store"):
        start_endpoint(tmp_path / "state", "staging", "s3://b/models/x/model.tar.gz")


def test_stopping_an_unknown_endpoint_is_a_no_op(tmp_path):
    assert stop_endpoint(tmp_path / "state", "nothing") is False
