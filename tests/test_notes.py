def test_notes_belong_to_the_token_subject(client):
    user_token = client.authorization_code_tokens(scope="read write")["access_token"]
    machine_token = client.client_credentials_token(scope="read write")

    created = client.api("/api/notes/", user_token, method="POST", json={"text": "the user's note"})

    assert created.status_code == 201
    assert created.json()["text"] == "the user's note"
    user_notes = client.api("/api/notes/", user_token)
    assert user_notes.status_code == 200
    assert created.json()["id"] in [note["id"] for note in user_notes.json()]
    machine_notes = client.api("/api/notes/", machine_token)
    assert machine_notes.status_code == 200
    assert created.json()["id"] not in [note["id"] for note in machine_notes.json()]


def test_invalid_note_is_refused_with_the_reason(client):
    token = client.client_credentials_token(scope="write")

    response = client.api("/api/notes/", token, method="POST", json={})

    assert response.status_code == 400
    assert "text" in response.json()


def test_json_nested_too_deep_to_parse_is_a_400(client):
    token = client.client_credentials_token(scope="write")

    response = client.api(
        "/api/notes/", token, method="POST", data=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
