from microasgi.datastructures import Address, CommaSeparatedStrings, Secret, State

scope_state: dict[str, object] = {}
state = State(scope_state)  # attribute access over the dict: writes land in it
state.request_count = 1
state["db_url"] = "postgres://app:secret@db/app"  # by key: the same dict

api_key = Secret("s3cr3t")
allowed_hosts = CommaSeparatedStrings("example.com, 'api.example.com', localhost")
client = Address("203.0.113.7", 51234)


def test_state_secret_strings_address() -> None:
    import pytest

    assert scope_state == {"request_count": 1, "db_url": "postgres://app:secret@db/app"}
    assert state["request_count"] == state.request_count == 1
    assert state.get("missing", 0) == 0
    assert "db_url" in state
    assert sorted(state) == ["db_url", "request_count"]
    with pytest.raises(AttributeError, match="Did you mean 'request_count'"):
        _ = state.request_cuont
    assert repr(state) == "<State attributes=['request_count', 'db_url']>"  # names, no values
    assert repr(api_key) == "Secret('**********')"  # safe in logs and tracebacks
    assert str(api_key) == "s3cr3t"
    assert list(allowed_hosts) == ["example.com", "api.example.com", "localhost"]
    assert client.host == "203.0.113.7"
