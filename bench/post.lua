-- A form POST with the body in POST_BODY and the Authorization header in AUTHORIZATION.
wrk.method = "POST"
wrk.body = os.getenv("POST_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("AUTHORIZATION")
