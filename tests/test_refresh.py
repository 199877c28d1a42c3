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
