from concurrent.futures import ThreadPoolExecutor


def test_refreshed_token_works_and_the_used_refresh_token_is_refused(client):
    first = client.authorization_code_tokens()

    refreshed = client.refresh(first["refresh_token"])

    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert client.api("/api/me/", second["access_token"]).status_code == 200

    replayed = client.refresh(first["refresh_token"])
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"


def test_one_refresh_token_sent_many_times_at_once_is_never_a_server_error(client):
    refresh_token = client.authorization_code_tokens()["refresh_token"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: client.refresh(refresh_token), range(6)))

    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 400}, statuses
    for answer in answers:
        if answer.status_code == 400:
            assert answer.json()["error"] == "invalid_grant"
    # However the requests interleave, one refresh token never yields two live token pairs.
    issued = [answer.json()["access_token"] for answer in answers if answer.status_code == 200]
    assert sum(client.introspect(token).json()["active"] for token in issued) <= 1
